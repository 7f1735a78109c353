// Splits a chat message into the pieces the chat view draws differently: Markdown text (drawn by
// Text.MarkdownText: paragraphs, lists, tables) and fenced code blocks (monospace, with a copy
// button). A fence that is still open — the model is in the middle of writing it — runs to the end.
#pragma once

#include <QList>
#include <QString>
#include <QVariantList>

namespace hearth::ui {

struct MarkdownBlock {
    enum Kind { Text, Code };
    Kind kind = Text;
    QString text;      // for Code, without the fences
    QString language;  // from the opening fence ("cpp"), may be empty
    bool operator==(const MarkdownBlock&) const = default;
};

QList<MarkdownBlock> splitMarkdown(const QString& markdown);
// The same as a list of {kind: "text"|"code", text, language} maps for QML (the message list
// also uses kind "plain" for the user's own messages).
QVariantList markdownBlocksForQml(const QString& markdown);

}  // namespace hearth::ui
