// The input box. Enter (or Ctrl+Enter) sends, Shift+Enter adds a line; disabled with a hint while
// no model is loaded. The text is cleared only once the message is safely in the history.
import QtQml
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth.Ui

Pane {
    id: composer

    required property ChatController chat

    function focusInput() {
        input.forceActiveFocus()
    }
    function sendNow() {
        if (composer.chat.send(input.text))
            input.clear()
    }

    padding: 8

    RowLayout {
        anchors.fill: parent

        ScrollView {
            Layout.fillWidth: true
            Layout.maximumHeight: 200
            Layout.preferredHeight: Math.min(input.implicitHeight, 200)

            TextArea {
                id: input
                objectName: "messageInput"
                enabled: composer.chat.canSend || composer.chat.generating
                placeholderText: composer.chat.inputHint
                wrapMode: TextEdit.Wrap
                Accessible.name: qsTr("Message")
                Accessible.description: composer.chat.inputHint
                Keys.onEscapePressed: composer.chat.stop()
                Keys.onReturnPressed: (event) => {
                    if (event.modifiers & Qt.ShiftModifier)
                        event.accepted = false
                    else
                        composer.sendNow()
                }
                Keys.onEnterPressed: (event) => {
                    if (event.modifiers & Qt.ShiftModifier)
                        event.accepted = false
                    else
                        composer.sendNow()
                }
            }
        }

        Button {
            visible: !composer.chat.generating
            enabled: composer.chat.canSend && input.text.trim().length > 0
            text: qsTr("Send")
            highlighted: true
            Accessible.name: qsTr("Send message (Enter)")
            onClicked: composer.sendNow()
        }
        Button {
            visible: composer.chat.generating
            text: qsTr("Stop")
            Accessible.name: qsTr("Stop generating (Esc)")
            onClicked: composer.chat.stop()
        }
    }

    Connections {
        target: composer.chat
        function onStateChanged() {
            if (!composer.chat.generating && input.enabled && !input.activeFocus)
                input.forceActiveFocus()
        }
    }
}
