// The bar above the chat: model picker with "Open GGUF file…" and load progress, the
// conversation's settings, export/import, and the app settings.
import QtQuick
import QtQuick.Controls
import QtQuick.Dialogs
import QtQuick.Layouts
import Hearth.Ui

ToolBar {
    id: bar

    required property ChatController chat
    required property ModelListModel models
    signal settingsRequested
    signal chatSettingsRequested

    ColumnLayout {
        anchors.fill: parent
        spacing: 0

        RowLayout {
            Layout.fillWidth: true
            Layout.margins: 4

            ComboBox {
                id: picker
                Layout.preferredWidth: 320
                model: bar.models
                textRole: "name"
                currentIndex: bar.models.currentIndex
                displayText: bar.models.loading ? qsTr("Loading %1…").arg(bar.models.loadingName)
                           : bar.models.loadedName.length > 0 ? bar.models.loadedName
                           : picker.count > 0 ? qsTr("Choose a model") : qsTr("No models in the model folder")
                Accessible.name: qsTr("Model")
                Accessible.description: bar.models.count === 0 ? bar.models.emptyHint : ""
                onActivated: (index) => bar.models.loadRow(index)
                ToolTip.visible: picker.hovered && picker.count === 0
                ToolTip.text: bar.models.emptyHint
            }
            ToolButton {
                text: qsTr("Open GGUF file…")
                Accessible.name: qsTr("Open a GGUF model file")
                onClicked: openModelDialog.open()
            }
            ToolButton {
                visible: bar.models.loading
                text: qsTr("Cancel")
                Accessible.name: qsTr("Cancel loading the model")
                onClicked: bar.models.cancelLoad()
            }
            Item { Layout.fillWidth: true }
            ToolButton {
                text: qsTr("Chat settings")
                Accessible.name: qsTr("System prompt and sampling settings of this chat")
                onClicked: bar.chatSettingsRequested()
            }
            ToolButton {
                id: moreButton
                text: "⋯"
                Accessible.name: qsTr("More: export, import, settings")
                onClicked: moreMenu.open()
                Menu {
                    id: moreMenu
                    y: moreButton.height
                    MenuItem {
                        text: qsTr("Export as Markdown…")
                        enabled: bar.chat.conversationId > 0
                        onTriggered: {
                            exportDialog.defaultSuffix = "md"
                            exportDialog.open()
                        }
                    }
                    MenuItem {
                        text: qsTr("Export as JSON…")
                        enabled: bar.chat.conversationId > 0
                        onTriggered: {
                            exportDialog.defaultSuffix = "json"
                            exportDialog.open()
                        }
                    }
                    MenuItem {
                        text: qsTr("Import JSON…")
                        onTriggered: importDialog.open()
                    }
                    MenuSeparator {}
                    MenuItem {
                        text: qsTr("Settings…")
                        onTriggered: bar.settingsRequested()
                    }
                }
            }
        }

        ProgressBar {
            Layout.fillWidth: true
            visible: bar.models.loading
            value: bar.models.progress
            Accessible.name: qsTr("Model loading progress")
        }
    }

    FileDialog {
        id: openModelDialog
        title: qsTr("Open a GGUF model")
        nameFilters: [qsTr("GGUF models (*.gguf)"), qsTr("All files (*)")]
        onAccepted: bar.models.loadUrl(openModelDialog.selectedFile)
    }
    FileDialog {
        id: exportDialog
        title: qsTr("Export the conversation")
        fileMode: FileDialog.SaveFile
        nameFilters: exportDialog.defaultSuffix === "json" ? [qsTr("JSON (*.json)")] : [qsTr("Markdown (*.md)")]
        onAccepted: bar.chat.exportConversation(exportDialog.selectedFile)
    }
    FileDialog {
        id: importDialog
        title: qsTr("Import a conversation")
        nameFilters: [qsTr("Hearth JSON export (*.json)")]
        onAccepted: bar.chat.importConversation(importDialog.selectedFile)
    }
}
