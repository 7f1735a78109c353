// This conversation's system prompt and sampling settings (saved with the conversation).
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Hearth.Ui

Dialog {
    id: dialog

    required property ChatController chat

    title: qsTr("Chat settings")
    modal: true
    standardButtons: Dialog.Close
    width: 520

    GridLayout {
        anchors.fill: parent
        columns: 2
        columnSpacing: 12

        Label {
            Layout.columnSpan: 2
            text: qsTr("System prompt")
        }
        ScrollView {
            Layout.columnSpan: 2
            Layout.fillWidth: true
            Layout.preferredHeight: 100
            TextArea {
                id: systemPrompt
                text: dialog.chat.systemPrompt
                wrapMode: TextEdit.Wrap
                placeholderText: qsTr("Optional: how the assistant should behave")
                Accessible.name: qsTr("System prompt")
                onEditingFinished: dialog.chat.systemPrompt = systemPrompt.text
            }
        }

        Label { text: qsTr("Temperature") }
        TextField {
            id: temperature
            text: dialog.chat.temperature.toFixed(2)
            validator: DoubleValidator { bottom: 0; top: 5; decimals: 2 }
            Accessible.name: qsTr("Temperature, 0 for the most likely answer")
            onEditingFinished: dialog.chat.temperature = Number.fromLocaleString(Qt.locale("C"), temperature.text)
        }
        Label { text: qsTr("Top-p") }
        TextField {
            id: topP
            text: dialog.chat.topP.toFixed(2)
            validator: DoubleValidator { bottom: 0; top: 1; decimals: 2 }
            Accessible.name: qsTr("Top-p")
            onEditingFinished: dialog.chat.topP = Number.fromLocaleString(Qt.locale("C"), topP.text)
        }
        Label { text: qsTr("Top-k") }
        SpinBox {
            from: 0
            to: 1000
            value: dialog.chat.topK
            editable: true
            Accessible.name: qsTr("Top-k, 0 for off")
            onValueModified: dialog.chat.topK = value
        }
        Label { text: qsTr("Min-p") }
        TextField {
            id: minP
            text: dialog.chat.minP.toFixed(2)
            validator: DoubleValidator { bottom: 0; top: 1; decimals: 2 }
            Accessible.name: qsTr("Min-p")
            onEditingFinished: dialog.chat.minP = Number.fromLocaleString(Qt.locale("C"), minP.text)
        }
        Label { text: qsTr("Repeat penalty") }
        TextField {
            id: repeatPenalty
            text: dialog.chat.repeatPenalty.toFixed(2)
            validator: DoubleValidator { bottom: 0.5; top: 3; decimals: 2 }
            Accessible.name: qsTr("Repeat penalty, 1 for off")
            onEditingFinished: dialog.chat.repeatPenalty = Number.fromLocaleString(Qt.locale("C"), repeatPenalty.text)
        }
        Label { text: qsTr("Maximum answer length") }
        SpinBox {
            from: 1
            to: 32768
            stepSize: 128
            value: dialog.chat.maxTokens
            editable: true
            Accessible.name: qsTr("Maximum answer length in tokens")
            onValueModified: dialog.chat.maxTokens = value
        }
        Label { text: qsTr("Seed") }
        TextField {
            id: seed
            text: dialog.chat.seed
            validator: RegularExpressionValidator { regularExpression: /[0-9]{1,19}/ }
            Accessible.name: qsTr("Seed, 0 for a new random one each answer")
            onEditingFinished: dialog.chat.seed = seed.text
        }
    }
}
