// App settings: model folder, device, threads, context size, theme. Shared with the CLI.
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth.Ui

Dialog {
    id: dialog

    required property SettingsModel settings

    title: qsTr("Settings")
    modal: true
    standardButtons: Dialog.Close
    width: 520

    GridLayout {
        anchors.fill: parent
        columns: 2
        columnSpacing: 12

        Label { text: qsTr("Model folder") }
        RowLayout {
            Layout.fillWidth: true
            TextField {
                id: folder
                Layout.fillWidth: true
                text: dialog.settings.modelFolder
                Accessible.name: qsTr("Model folder")
                onEditingFinished: dialog.settings.modelFolder = folder.text
            }
            Button {
                text: qsTr("Choose…")
                Accessible.name: qsTr("Choose the model folder")
                onClicked: folderDialog.open()
            }
        }

        Label { text: qsTr("Device") }
        ComboBox {
            id: device
            Layout.fillWidth: true
            editable: true
            model: dialog.settings.deviceChoices
            Component.onCompleted: device.editText = dialog.settings.device
            Accessible.name: qsTr("Device (auto, cpu, cuda:0, vulkan:0…)")
            onAccepted: dialog.settings.device = device.editText
            onActivated: dialog.settings.device = device.currentText
        }

        Label { text: qsTr("CPU threads") }
        SpinBox {
            from: 0
            to: 256
            value: dialog.settings.threads
            editable: true
            Accessible.name: qsTr("CPU threads, 0 for one per physical core")
            onValueModified: dialog.settings.threads = value
        }

        Label { text: qsTr("Context size") }
        SpinBox {
            from: 0
            to: 131072
            stepSize: 1024
            value: dialog.settings.contextSize
            editable: true
            Accessible.name: qsTr("Context size in tokens, 0 for automatic")
            onValueModified: dialog.settings.contextSize = value
        }

        Label { text: qsTr("Dark theme") }
        Switch {
            checked: dialog.settings.darkTheme
            Accessible.name: qsTr("Dark theme")
            onToggled: dialog.settings.darkTheme = checked
        }

        Label {
            Layout.columnSpan: 2
            Layout.fillWidth: true
            visible: dialog.settings.restartHint.length > 0
            text: dialog.settings.restartHint
            wrapMode: Text.Wrap
            opacity: 0.7
        }
    }

    FolderDialog {
        id: folderDialog
        title: qsTr("Model folder")
        onAccepted: dialog.settings.setModelFolderUrl(folderDialog.selectedFolder)
    }
}
