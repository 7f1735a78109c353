// A one-line message above the chat: a problem with the history file, a model that failed to
// load, an error while answering. Hidden when there is nothing to say.
import QtQuick
import QtQuick.Controls
import QtQuick.Controls.Material
import QtQuick.Layouts

Pane {
    id: banner

    property string text
    property bool warning: false
    property bool closable: false
    signal closeRequested

    visible: banner.text.length > 0
    padding: 8
    Material.background: banner.warning ? (Material.theme === Material.Dark ? "#5c3a00" : "#fff3cd") : Material.background

    Accessible.role: Accessible.AlertMessage
    Accessible.name: banner.text

    RowLayout {
        anchors.fill: parent
        Label {
            Layout.fillWidth: true
            text: banner.text
            wrapMode: Text.Wrap
        }
        ToolButton {
            visible: banner.closable
            text: "✕"
            Accessible.name: qsTr("Dismiss message")
            onClicked: banner.closeRequested()
        }
    }
}
