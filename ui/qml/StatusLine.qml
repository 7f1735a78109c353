// The bottom line: model, device and backend, speed of the last answer, context used / total.
import QtQuick
import QtQuick.Controls

Pane {
    id: statusLine

    property string text

    padding: 4
    leftPadding: 12

    Label {
        anchors.fill: parent
        text: statusLine.text
        elide: Text.ElideRight
        font.pixelSize: 12
        opacity: 0.8
        Accessible.role: Accessible.StatusBar
        Accessible.name: qsTr("Status: %1").arg(statusLine.text)
    }
}
