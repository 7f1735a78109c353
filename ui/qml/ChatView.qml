// The messages of the visible branch. ListView creates delegates only for what is on screen, so
// long conversations scroll smoothly; it follows the streamed answer while the user is at the end.
import QtQuick
import QtQuick.Controls
import Hearth.Ui

ListView {
    id: view

    required property ChatController chat
    property bool following: true

    clip: true
    spacing: 4
    model: view.chat.messages
    cacheBuffer: 800
    activeFocusOnTab: true
    keyNavigationEnabled: true
    Accessible.role: Accessible.List
    Accessible.name: qsTr("Messages")
    ScrollBar.vertical: ScrollBar {}

    // Delegates cannot see ids outside themselves; they reach the controller through the model.
    delegate: MessageDelegate {
        width: ListView.view.width
        chat: ListView.view.model.controller
    }

    onMovementStarted: view.following = false
    onMovementEnded: view.following = view.atYEnd
    onCountChanged: {
        view.following = true
        scrollToEnd.restart()
    }
    onContentHeightChanged: if (view.following) scrollToEnd.restart()

    // Once per event-loop turn, however many rows changed in it.
    Timer {
        id: scrollToEnd
        interval: 0
        onTriggered: view.positionViewAtEnd()
    }

    Label {
        anchors.centerIn: parent
        width: Math.min(parent.width - 40, 460)
        visible: view.count === 0
        text: view.chat.modelReady ? qsTr("Ask anything. Answers are written on this computer; nothing leaves it.")
                                   : qsTr("Pick a model at the top, or open a .gguf file, to start chatting.")
        horizontalAlignment: Text.AlignHCenter
        wrapMode: Text.Wrap
        opacity: 0.6
    }
}
