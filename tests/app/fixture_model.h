// The app tests chat with the tiny fixture model (tests/fixtures/chat_llama: random weights, the
// real llama-2 tokenizer and chat template). It is converted to GGUF by the real `hearth convert`
// once per build tree and shared by the tests that need it.
#pragma once

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QString>

namespace hearth::testing {

// Returns the GGUF path, or an empty string with `error` set.
inline QString fixtureChatModel(QString* error) {
    const QString dir = QStringLiteral(HEARTH_BUILD_DIR "/tests/app-fixtures");
    const QString out = dir + "/chat_llama-f16.gguf";
    if (QFileInfo::exists(out)) return out;
    QDir().mkpath(dir);
    const QString cli = qEnvironmentVariable("HEARTH_CLI");
    if (cli.isEmpty() || !QFileInfo(cli).isExecutable()) {
        *error = "HEARTH_CLI does not name the built hearth binary";
        return {};
    }
    // Parallel tests may convert at the same time: each writes its own file, the first rename wins.
    const QString tmp = QStringLiteral("%1/chat_llama-%2.gguf").arg(dir).arg(QCoreApplication::applicationPid());
    QProcess convert;
    convert.setProcessChannelMode(QProcess::MergedChannels);
    convert.start(cli, {"convert", QStringLiteral(HEARTH_TEST_DATA_DIR "/fixtures/chat_llama"), tmp, "--quiet"});
    if (!convert.waitForFinished(180000) || convert.exitStatus() != QProcess::NormalExit || convert.exitCode() != 0) {
        *error = "hearth convert failed: " + QString::fromUtf8(convert.readAll());
        QFile::remove(tmp);
        return {};
    }
    if (!QFile::rename(tmp, out)) QFile::remove(tmp);
    return out;
}

}  // namespace hearth::testing
