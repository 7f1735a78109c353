// Shared by the engine tests: converting the HF fixtures with `hearth convert`, reading their
// reference.json, and comparing logits.
#pragma once

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QString>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace enginetest {

inline QString fixtureDir(const QString& name) { return QStringLiteral(HEARTH_TEST_DATA_DIR "/fixtures/") + name; }

inline nlohmann::json reference(const QString& name) {
    std::ifstream in((fixtureDir(name) + "/reference.json").toStdString());
    return nlohmann::json::parse(in);
}

inline QString cliPath() { return qEnvironmentVariable("HEARTH_CLI"); }

// Runs the hearth CLI; returns exit code, stdout, stderr.
struct CliResult {
    int exitCode = -1;
    QByteArray out, err;
};
inline CliResult runCli(const QStringList& args, const QByteArray& input = {}, int timeoutMs = 120000) {
    QProcess p;
    p.start(cliPath(), args);
    CliResult r;
    if (!p.waitForStarted(10000)) return r;
    if (!input.isEmpty()) p.write(input);
    p.closeWriteChannel();
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

// Converts fixtures once per test run; cached by (fixture, type).
class Converter {
public:
    QString gguf(const QString& fixture, const QString& type) {
        QString key = fixture + "-" + type;
        auto it = cache_.find(key);
        if (it != cache_.end()) return it->second;
        QString out = dir_.filePath(key + ".gguf");
        auto r = runCli({"convert", fixtureDir(fixture), out, "--type", type, "--quiet"});
        if (r.exitCode != 0) {
            qWarning("hearth convert %s --type %s failed (%d): %s", qPrintable(fixture), qPrintable(type), r.exitCode,
                     r.err.constData());
            return {};
        }
        cache_[key] = out;
        return out;
    }
    QString tempPath(const QString& name) const { return dir_.filePath(name); }

private:
    QTemporaryDir dir_;
    std::map<QString, QString> cache_;
};

// Normalised mean squared error: sum (a - b)^2 / sum b^2.
inline double nmse(const std::vector<float>& got, const std::vector<double>& want) {
    double num = 0, den = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        double d = static_cast<double>(got[i]) - want[i];
        num += d * d;
        den += want[i] * want[i];
    }
    return num / den;
}

inline std::vector<int32_t> ids(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

// Greedy steps that can be compared: up to the first reference step whose top-1/top-2 margin is
// below `minMargin` (a near-tie that rounding may legitimately flip).
inline size_t comparableSteps(const nlohmann::json& prompt, double minMargin) {
    const auto& m = prompt["greedy_margins"];
    size_t n = 0;
    while (n < m.size() && m[n].get<double>() >= minMargin) ++n;
    return n;
}

}  // namespace enginetest
