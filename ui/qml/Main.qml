// The main window. Everything it shows comes from the view-models passed in as required
// properties by the application (app/gui_main.cpp); this file only lays them out.
import QtQml
import QtQuick
import QtQuick.Controls
import QtQuick.Controls.Material
import QtQuick.Layouts
import Hearth.Ui

ApplicationWindow {
    id: window

    required property ChatController chat
    required property ConversationListModel conversations
    required property ModelListModel models
    required property SettingsModel settings

    width: 1100
    height: 760
    minimumWidth: 640
    minimumHeight: 420
    visible: true
    title: window.chat.title + " — Hearth"
    Material.theme: window.settings.darkTheme ? Material.Dark : Material.Light
    Material.accent: Material.DeepOrange

    Shortcut {
        sequence: "Ctrl+N"
        onActivated: {
            window.chat.newConversation()
            composer.focusInput()
        }
    }
    Shortcut {
        sequence: "Ctrl+K"
        onActivated: sidebar.focusSearch()
    }
    Shortcut {
        sequence: "Escape"
        enabled: window.chat.generating
        onActivated: window.chat.stop()
    }
    Shortcut {
        sequence: "Ctrl+R"
        enabled: window.chat.canRegenerate
        onActivated: window.chat.regenerate()
    }
    Shortcut {
        sequence: "Ctrl+,"
        onActivated: settingsDialog.open()
    }

    SplitView {
        anchors.fill: parent

        Sidebar {
            id: sidebar
            SplitView.preferredWidth: 270
            SplitView.minimumWidth: 200
            chat: window.chat
            conversations: window.conversations
            onConversationOpened: composer.focusInput()
        }

        ColumnLayout {
            SplitView.fillWidth: true
            spacing: 0

            TopBar {
                Layout.fillWidth: true
                chat: window.chat
                models: window.models
                onSettingsRequested: settingsDialog.open()
                onChatSettingsRequested: chatSettingsDialog.open()
            }

            Banner {
                Layout.fillWidth: true
                text: window.chat.noticeText
                warning: true
            }
            Banner {
                Layout.fillWidth: true
                text: window.models.errorText
                warning: true
            }
            Banner {
                Layout.fillWidth: true
                text: window.chat.errorText
                warning: true
                closable: true
                onCloseRequested: window.chat.dismissError()
            }

            ChatView {
                Layout.fillWidth: true
                Layout.fillHeight: true
                chat: window.chat
            }

            Composer {
                id: composer
                Layout.fillWidth: true
                chat: window.chat
            }

            StatusLine {
                Layout.fillWidth: true
                text: window.chat.statusText
            }
        }
    }

    SettingsDialog {
        id: settingsDialog
        anchors.centerIn: parent
        settings: window.settings
        onClosed: {
            window.models.refresh()
            composer.focusInput()
        }
    }

    ChatSettingsDialog {
        id: chatSettingsDialog
        anchors.centerIn: parent
        chat: window.chat
        onClosed: composer.focusInput()
    }

    Connections {
        target: window.chat
        function onConversationChanged() {
            composer.focusInput()
        }
    }

    Component.onCompleted: composer.focusInput()
}
