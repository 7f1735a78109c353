// One message: who wrote it, its Markdown (text, lists and tables through Text.MarkdownText;
// code blocks in monospace with their own copy button), and its actions: copy, edit and resend
// (your messages), regenerate (the last answer), and switching between alternatives.
import QtQuick
import QtQuick.Controls
import QtQuick.Controls.Material
import QtQuick.Layouts
import Hearth.Ui

Pane {
    id: message
    objectName: "messageDelegate"

    required property ChatController chat
    required property int index
    required property string role
    required property string content
    required property var blocks
    required property bool streaming
    required property int siblingIndex
    required property int siblingCount
    required property string details

    property bool editing: false
    readonly property bool mine: message.role === "user"

    padding: 12
    Material.background: message.mine ? (Material.theme === Material.Dark ? "#2b2f36" : "#eef2f7") : "transparent"
    Accessible.role: Accessible.ListItem
    Accessible.name: (message.mine ? qsTr("You") : qsTr("Assistant")) + ": " + message.content

    ColumnLayout {
        width: parent.width
        spacing: 6

        RowLayout {
            Layout.fillWidth: true
            Label {
                text: message.mine ? qsTr("You") : qsTr("Assistant")
                font.bold: true
            }
            BusyIndicator {
                visible: message.streaming
                running: message.streaming
                Layout.preferredWidth: 20
                Layout.preferredHeight: 20
                Accessible.name: qsTr("Writing")
            }
            Item { Layout.fillWidth: true }
            ToolButton {
                visible: message.siblingCount > 1
                enabled: message.siblingIndex > 1 && !message.chat.generating
                text: "‹"
                Accessible.name: qsTr("Previous version")
                onClicked: message.chat.showAlternative(message.index, -1)
            }
            Label {
                visible: message.siblingCount > 1
                text: message.siblingIndex + " / " + message.siblingCount
                Accessible.name: qsTr("Version %1 of %2").arg(message.siblingIndex).arg(message.siblingCount)
            }
            ToolButton {
                visible: message.siblingCount > 1
                enabled: message.siblingIndex < message.siblingCount && !message.chat.generating
                text: "›"
                Accessible.name: qsTr("Next version")
                onClicked: message.chat.showAlternative(message.index, 1)
            }
        }

        Repeater {
            model: message.editing ? [] : message.blocks
            // Text blocks go to Text.MarkdownText (paragraphs, lists, tables); code blocks are
            // monospace with their own copy button.
            delegate: Item {
                id: block
                required property var modelData
                readonly property bool isCode: block.modelData.kind === "code"
                Layout.fillWidth: true
                implicitHeight: block.isCode ? codeFrame.implicitHeight : prose.implicitHeight

                TextEdit {
                    id: prose
                    width: block.width
                    visible: !block.isCode
                    text: block.isCode ? "" : block.modelData.text
                    // Your own messages are shown as typed; answers as Markdown.
                    textFormat: block.modelData.kind === "plain" ? TextEdit.PlainText : TextEdit.MarkdownText
                    readOnly: true
                    selectByMouse: true
                    wrapMode: TextEdit.Wrap
                    color: prose.Material.foreground
                    selectionColor: prose.Material.accent
                    Accessible.role: Accessible.StaticText
                    Accessible.name: prose.getText(0, prose.length)
                }
                Rectangle {
                    id: codeFrame
                    width: block.width
                    visible: block.isCode
                    implicitHeight: block.isCode ? code.implicitHeight + 16 : 0
                    radius: 4
                    color: codeFrame.Material.theme === Material.Dark ? "#1e1e1e" : "#f4f4f4"
                    border.color: codeFrame.Material.theme === Material.Dark ? "#3c3c3c" : "#dddddd"
                    TextEdit {
                        id: code
                        anchors.left: codeFrame.left
                        anchors.right: copyCode.left
                        anchors.top: codeFrame.top
                        anchors.margins: 8
                        text: block.isCode ? block.modelData.text : ""
                        font.family: "monospace"
                        readOnly: true
                        selectByMouse: true
                        wrapMode: TextEdit.WrapAnywhere
                        color: code.Material.foreground
                        Accessible.role: Accessible.EditableText
                        Accessible.name: qsTr("Code block %1").arg(block.modelData.language)
                    }
                    ToolButton {
                        id: copyCode
                        anchors.right: codeFrame.right
                        anchors.top: codeFrame.top
                        text: qsTr("Copy")
                        font.pixelSize: 11
                        Accessible.name: qsTr("Copy code")
                        onClicked: {
                            code.selectAll()
                            code.copy()
                            code.deselect()
                        }
                    }
                }
            }
        }

        ColumnLayout {
            Layout.fillWidth: true
            visible: message.editing
            TextArea {
                id: editor
                Layout.fillWidth: true
                wrapMode: TextEdit.Wrap
                Accessible.name: qsTr("Edit your message")
                Keys.onEscapePressed: message.editing = false
            }
            RowLayout {
                Button {
                    text: qsTr("Send edited")
                    enabled: message.chat.canSend
                    Accessible.name: qsTr("Send the edited message; the earlier version is kept")
                    onClicked: if (message.chat.editAndResend(message.index, editor.text)) message.editing = false
                }
                Button {
                    text: qsTr("Cancel")
                    onClicked: message.editing = false
                }
            }
        }

        RowLayout {
            visible: !message.editing && !message.streaming
            Label {
                Layout.fillWidth: true
                text: message.details
                font.pixelSize: 11
                opacity: 0.7
                elide: Text.ElideRight
            }
            ToolButton {
                text: qsTr("Copy")
                font.pixelSize: 11
                Accessible.name: qsTr("Copy message")
                onClicked: message.chat.copyMessage(message.index)
            }
            ToolButton {
                visible: message.mine
                enabled: message.chat.canSend
                text: qsTr("Edit")
                font.pixelSize: 11
                Accessible.name: qsTr("Edit and resend")
                onClicked: {
                    editor.text = message.content
                    message.editing = true
                    editor.forceActiveFocus()
                }
            }
            ToolButton {
                visible: !message.mine && message.index === message.ListView.view.count - 1
                enabled: message.chat.canRegenerate
                text: qsTr("Regenerate")
                font.pixelSize: 11
                Accessible.name: qsTr("Regenerate the answer (Ctrl+R)")
                onClicked: message.chat.regenerate()
            }
        }
    }
}
