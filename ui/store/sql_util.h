// Small helpers shared by the store's source files: statements that throw StoreError with a
// message a user can act on, and a scoped transaction.
#pragma once

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

#include "ui/store/conversation_store.h"

namespace hearth::store::sql {

inline QSqlQuery run(const QSqlDatabase& db, const QString& statement, const QVariantList& binds = {}) {
    QSqlQuery q(db);
    if (!q.prepare(statement)) throw StoreError("history database: " + q.lastError().text().toStdString());
    for (const auto& b : binds) {
        // A null QString binds as SQL NULL; the schema wants '' for "no text".
        if (b.typeId() == QMetaType::QString && b.toString().isNull()) q.addBindValue(QStringLiteral(""));
        else q.addBindValue(b);
    }
    if (!q.exec())
        throw StoreError("could not save to the chat history (" + q.lastError().text().toStdString() +
                         "); is the disk full?");
    return q;
}

// Rolls back unless commit() was called.
class Transaction {
public:
    explicit Transaction(QSqlDatabase db) : db_(std::move(db)) {
        if (!db_.transaction())
            throw StoreError("the chat history is busy (" + db_.lastError().text().toStdString() + ")");
    }
    ~Transaction() {
        if (!done_) db_.rollback();
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
        if (!db_.commit())
            throw StoreError("could not save to the chat history (" + db_.lastError().text().toStdString() +
                             "); is the disk full?");
        done_ = true;
    }

private:
    QSqlDatabase db_;
    bool done_ = false;
};

}  // namespace hearth::store::sql
