// The list of conversations: new chat, search over titles and contents, rename, delete with undo.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth.Ui

Pane {
    id: sidebar

    required property ChatController chat
    required property ConversationListModel conversations
    signal conversationOpened

    function focusSearch() {
        search.forceActiveFocus()
        search.selectAll()
    }

    padding: 8

    ColumnLayout {
        anchors.fill: parent

        Button {
            Layout.fillWidth: true
            text: qsTr("New chat")
            Accessible.name: qsTr("New chat (Ctrl+N)")
            onClicked: {
                sidebar.chat.newConversation()
                sidebar.conversationOpened()
            }
        }

        TextField {
            id: search
            Layout.fillWidth: true
            placeholderText: qsTr("Search chats (Ctrl+K)")
            text: sidebar.conversations.searchText
            Accessible.name: qsTr("Search chats")
            onTextEdited: sidebar.conversations.searchText = search.text
            Keys.onDownPressed: list.forceActiveFocus()
        }

        ListView {
            id: list
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            model: sidebar.conversations
            keyNavigationEnabled: true
            activeFocusOnTab: true
            Accessible.role: Accessible.List
            Accessible.name: qsTr("Chats")
            ScrollBar.vertical: ScrollBar {}

            // Delegates cannot see ids outside themselves: they act through the view's model.
            delegate: ItemDelegate {
                id: row

                required property int index
                required property var conversationId
                required property string title
                required property string preview
                required property string updated
                required property bool current
                property bool renaming: false

                width: ListView.view.width
                highlighted: row.current
                Accessible.role: Accessible.ListItem
                Accessible.name: row.title
                Accessible.description: row.preview

                contentItem: ColumnLayout {
                    spacing: 2
                    opacity: row.renaming ? 0 : 1
                    Label {
                        Layout.fillWidth: true
                        Layout.rightMargin: 32
                        text: row.title
                        font.bold: row.highlighted
                        elide: Text.ElideRight
                    }
                    Label {
                        Layout.fillWidth: true
                        text: row.preview
                        elide: Text.ElideRight
                        font.pixelSize: 11
                        opacity: 0.7
                    }
                }
                TextField {
                    id: renameField
                    anchors.left: row.left
                    anchors.right: row.right
                    anchors.verticalCenter: row.verticalCenter
                    anchors.margins: 4
                    visible: row.renaming
                    Accessible.name: qsTr("New title")
                    onAccepted: {
                        row.ListView.view.model.renameKey(row.conversationId, renameField.text)
                        row.renaming = false
                    }
                    Keys.onEscapePressed: row.renaming = false
                    onActiveFocusChanged: if (!renameField.activeFocus) row.renaming = false
                }
                onClicked: row.ListView.view.model.open(row.conversationId)
                Keys.onReturnPressed: row.ListView.view.model.open(row.conversationId)
                Keys.onDeletePressed: row.ListView.view.model.removeKey(row.conversationId)
                Keys.onPressed: (event) => {
                    if (event.key === Qt.Key_F2) {
                        row.startRename()
                        event.accepted = true
                    }
                }

                function startRename() {
                    renameField.text = row.title
                    row.renaming = true
                    renameField.forceActiveFocus()
                    renameField.selectAll()
                }

                ToolButton {
                    anchors.right: row.right
                    anchors.verticalCenter: row.verticalCenter
                    visible: row.hovered || row.highlighted || row.activeFocus
                    text: "⋯"
                    Accessible.name: qsTr("Rename or delete “%1”").arg(row.title)
                    onClicked: rowMenu.popup()
                    Menu {
                        id: rowMenu
                        MenuItem {
                            text: qsTr("Rename (F2)")
                            onTriggered: row.startRename()
                        }
                        MenuItem {
                            text: qsTr("Delete (Del)")
                            onTriggered: row.ListView.view.model.removeKey(row.conversationId)
                        }
                    }
                }
            }

            Label {
                anchors.centerIn: parent
                visible: list.count === 0
                text: sidebar.conversations.searchText.length > 0 ? qsTr("No chat matches") : qsTr("No chats yet")
                opacity: 0.6
            }
        }

        RowLayout {
            Layout.fillWidth: true
            visible: sidebar.conversations.canUndoRemove
            Label {
                Layout.fillWidth: true
                text: sidebar.conversations.undoText
                elide: Text.ElideRight
            }
            Button {
                text: qsTr("Undo")
                Accessible.name: qsTr("Undo delete")
                onClicked: sidebar.conversations.undoRemove()
            }
        }
    }
}
