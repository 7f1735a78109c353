#include "ui/viewmodels/markdown_blocks.h"

#include <QVariantMap>

namespace hearth::ui {
namespace {

// "```cpp" or "~~~" with up to three spaces of indent (CommonMark); returns the fence or "".
QString fenceOf(QStringView line) {
    int indent = 0;
    while (indent < line.size() && indent < 4 && line[indent] == ' ') ++indent;
    if (indent > 3 || indent >= line.size()) return {};
    const QChar c = line[indent];
    if (c != '`' && c != '~') return {};
    int n = indent;
    while (n < line.size() && line[n] == c) ++n;
    if (n - indent < 3) return {};
    return line.mid(indent, n - indent).toString();
}

}  // namespace

QList<MarkdownBlock> splitMarkdown(const QString& markdown) {
    QList<MarkdownBlock> blocks;
    QString text;
    QString code;
    QString openFence;
    QString language;
    auto flushText = [&] {
        if (!text.trimmed().isEmpty()) blocks.push_back({MarkdownBlock::Text, text.trimmed(), {}});
        text.clear();
    };
    const auto lines = QStringView(markdown).split(u'\n');
    for (const auto& line : lines) {
        const QString fence = fenceOf(line);
        if (openFence.isEmpty()) {
            if (!fence.isEmpty()) {
                flushText();
                openFence = fence;
                language = line.trimmed().mid(fence.size()).trimmed().toString();
                code.clear();
            } else {
                text += line;
                text += u'\n';
            }
        } else if (!fence.isEmpty() && fence.front() == openFence.front() && fence.size() >= openFence.size() &&
                   line.trimmed().size() == fence.size()) {
            if (code.endsWith('\n')) code.chop(1);
            blocks.push_back({MarkdownBlock::Code, code, language});
            openFence.clear();
        } else {
            code += line;
            code += u'\n';
        }
    }
    if (!openFence.isEmpty()) {
        while (code.endsWith('\n')) code.chop(1);
        blocks.push_back({MarkdownBlock::Code, code, language});
    }
    flushText();
    return blocks;
}

QVariantList markdownBlocksForQml(const QString& markdown) {
    QVariantList out;
    for (const auto& b : splitMarkdown(markdown))
        out.push_back(QVariantMap{{"kind", b.kind == MarkdownBlock::Code ? "code" : "text"},
                                  {"text", b.text},
                                  {"language", b.language}});
    return out;
}

}  // namespace hearth::ui
