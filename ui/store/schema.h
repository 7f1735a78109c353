// The history database's schema, as the list of steps that built it. Step N takes a database at
// user_version N to N+1; a new database runs every step, so each one is exercised on every start
// and the tests can build any earlier version by running a prefix of the list.
// Never edit a published step: add a new one and bump ConversationStore::kSchemaVersion.
#pragma once

#include <QString>
#include <QStringList>
#include <vector>

namespace hearth::store::schema {

inline const std::vector<QStringList>& migrations() {
    static const std::vector<QStringList> steps = {
        // 0 -> 1: conversations and a flat list of messages (times are ms since the epoch).
        {"CREATE TABLE conversations(id INTEGER PRIMARY KEY, title TEXT NOT NULL DEFAULT '', "
         "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
         "CREATE TABLE messages(id INTEGER PRIMARY KEY, "
         "conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, "
         "role TEXT NOT NULL, content TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL)"},
        // 1 -> 2: branches. Each message points at the one it answers; existing chats become one
        // straight branch.
        {"ALTER TABLE messages ADD COLUMN parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE",
         "ALTER TABLE conversations ADD COLUMN current_leaf_id INTEGER REFERENCES messages(id) ON DELETE SET NULL",
         "UPDATE messages SET parent_id=(SELECT max(p.id) FROM messages p WHERE "
         "p.conversation_id=messages.conversation_id AND p.id<messages.id)",
         "UPDATE conversations SET current_leaf_id=(SELECT max(m.id) FROM messages m WHERE "
         "m.conversation_id=conversations.id)",
         "CREATE INDEX messages_by_parent ON messages(parent_id)",
         "CREATE INDEX messages_by_conversation ON messages(conversation_id)"},
        // 2 -> 3: what produced each answer and how it ended; per-conversation settings; undoable
        // deletion.
        {"ALTER TABLE conversations ADD COLUMN system_prompt TEXT NOT NULL DEFAULT ''",
         "ALTER TABLE conversations ADD COLUMN sampler_json TEXT NOT NULL DEFAULT '{}'",
         "ALTER TABLE conversations ADD COLUMN deleted_at INTEGER",
         "ALTER TABLE messages ADD COLUMN model_file TEXT NOT NULL DEFAULT ''",
         "ALTER TABLE messages ADD COLUMN model_hash TEXT NOT NULL DEFAULT ''",
         "ALTER TABLE messages ADD COLUMN backend TEXT NOT NULL DEFAULT ''",
         "ALTER TABLE messages ADD COLUMN sampler_json TEXT NOT NULL DEFAULT '{}'",
         "ALTER TABLE messages ADD COLUMN seed INTEGER NOT NULL DEFAULT 0",
         "ALTER TABLE messages ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0",
         "ALTER TABLE messages ADD COLUMN generated_tokens INTEGER NOT NULL DEFAULT 0",
         "ALTER TABLE messages ADD COLUMN tokens_per_second REAL NOT NULL DEFAULT 0",
         "ALTER TABLE messages ADD COLUMN finish_reason TEXT NOT NULL DEFAULT 'complete'",
         "ALTER TABLE messages ADD COLUMN error TEXT NOT NULL DEFAULT ''",
         "ALTER TABLE messages ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0",
         "UPDATE messages SET updated_at=created_at"},
    };
    return steps;
}

}  // namespace hearth::store::schema
