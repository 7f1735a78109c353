#include "models/convert/hf_vocab.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "models/formats/format_error.h"

namespace hearth::convert {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// GGUF token types (tokenizer.ggml.token_type).
enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

std::optional<json> readJson(const fs::path& file, bool required) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        if (required) throw FormatError(file.string() + ": cannot open (is this a Hugging Face model folder?)");
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return json::parse(ss.str());
    } catch (const json::exception& e) {
        throw FormatError(file.string() + ": not valid JSON: " + e.what());
    }
}

gguf::Value str(std::string s) { return gguf::Value{std::move(s)}; }

gguf::Value u32(uint64_t v) { return gguf::Value{static_cast<uint32_t>(v)}; }

template <typename T>
gguf::Value arrayOf(gguf::ValueType type, std::vector<T> items) {
    gguf::Array a;
    a.elementType = type;
    a.items.reserve(items.size());
    for (auto& v : items) a.items.push_back(gguf::Value{std::move(v)});
    return gguf::Value{std::move(a)};
}

// "content" of a tokenizer_config entry, which is a string or an AddedToken object.
std::optional<std::string> tokenContent(const json& cfg, const std::string& key) {
    auto it = cfg.find(key);
    if (it == cfg.end()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    return std::nullopt;
}

bool looksSpecial(const std::string& t) {
    auto wrapped = [&](std::string_view a, std::string_view b) {
        return t.size() >= a.size() + b.size() && t.compare(0, a.size(), a) == 0 &&
               t.compare(t.size() - b.size(), b.size(), b) == 0;
    };
    return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
           wrapped("<\xef\xbd\x9c", "\xef\xbd\x9c>") || wrapped("<start_of_", ">") || wrapped("<end_of_", ">");
}

bool isByteToken(const std::string& t) {
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); };
    return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && hex(t[3]) && hex(t[4]) && t[5] == '>';
}

// The Split regexes of a pre-tokenizer (one, or a Sequence of them).
void collectSplits(const json& pre, std::vector<std::string>& out, bool& byteLevelRegex) {
    if (!pre.is_object()) return;
    std::string type = pre.value("type", "");
    if (type == "Sequence" && pre.contains("pretokenizers")) {
        for (const auto& p : pre["pretokenizers"]) collectSplits(p, out, byteLevelRegex);
    } else if (type == "Split" && pre.contains("pattern") && pre["pattern"].is_object()) {
        const auto& pat = pre["pattern"];
        if (pat.contains("Regex") && pat["Regex"].is_string()) out.push_back(pat["Regex"].get<std::string>());
    } else if (type == "ByteLevel") {
        if (pre.value("use_regex", true)) byteLevelRegex = true;
    }
}

// Merges as "a b" strings; the newer pair form is joined the same way (a space inside a part is
// written as U+0120, as the ecosystem's converter does).
std::vector<std::string> readMerges(const json& model) {
    std::vector<std::string> merges;
    auto it = model.find("merges");
    if (it == model.end() || !it->is_array()) return merges;
    merges.reserve(it->size());
    for (const auto& m : *it) {
        if (m.is_string()) {
            merges.push_back(m.get<std::string>());
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            auto part = [](std::string s) {
                std::string o;
                for (char c : s) o += c == ' ' ? std::string("\xc4\xa0") : std::string(1, c);
                return o;
            };
            merges.push_back(part(m[0].get<std::string>()) + " " + part(m[1].get<std::string>()));
        } else {
            throw FormatError("tokenizer.json: model.merges has an entry that is neither \"a b\" nor [a, b]");
        }
    }
    return merges;
}

struct AddedToken {
    std::string content;
    bool special = false;
};

// add_bos / add_eos from a TemplateProcessing post-processor ("<s> $A" adds BOS).
void templateAdds(const json& post, const std::optional<std::string>& bos, const std::optional<std::string>& eos,
                  std::optional<bool>& addBos, std::optional<bool>& addEos) {
    if (!post.is_object()) return;
    if (post.value("type", "") == "Sequence" && post.contains("processors")) {
        for (const auto& p : post["processors"]) templateAdds(p, bos, eos, addBos, addEos);
        return;
    }
    if (post.value("type", "") != "TemplateProcessing" || !post.contains("single")) return;
    const auto& single = post["single"];
    if (!single.is_array() || single.size() < 2) return;
    auto specialId = [](const json& e) -> std::optional<std::string> {
        if (e.is_object() && e.contains("SpecialToken") && e["SpecialToken"].contains("id"))
            return e["SpecialToken"]["id"].get<std::string>();
        return std::nullopt;
    };
    if (auto first = specialId(single.front())) addBos = bos && *first == *bos;
    if (auto last = specialId(single.back())) addEos = eos && *last == *eos;
}

void addChatTemplate(Metadata& md, const json* cfg, const fs::path& folder) {
    if (cfg && cfg->contains("chat_template")) {
        const auto& ct = (*cfg)["chat_template"];
        if (ct.is_string()) {
            md.emplace_back("tokenizer.chat_template", str(ct.get<std::string>()));
            return;
        }
        if (ct.is_array()) {  // [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
            for (const auto& e : ct) {
                if (!e.is_object() || !e.contains("name") || !e.contains("template")) continue;
                std::string name = e["name"].get<std::string>();
                md.emplace_back(name == "default" ? "tokenizer.chat_template" : "tokenizer.chat_template." + name,
                                str(e["template"].get<std::string>()));
            }
            return;
        }
    }
    std::ifstream jinja(folder / "chat_template.jinja", std::ios::binary);
    if (jinja) {
        std::stringstream ss;
        ss << jinja.rdbuf();
        md.emplace_back("tokenizer.chat_template", str(ss.str()));
    }
}

std::vector<int64_t> idList(const json& v) {
    std::vector<int64_t> ids;
    if (v.is_number_integer()) ids.push_back(v.get<int64_t>());
    if (v.is_array())
        for (const auto& e : v)
            if (e.is_number_integer()) ids.push_back(e.get<int64_t>());
    return ids;
}

// Builds the tokenizer.ggml.* keys step by step from the files of one folder.
struct VocabBuilder {
    static constexpr std::pair<const char*, const char*> kKinds[] = {
        {"bos", "bos_token_id"}, {"eos", "eos_token_id"}, {"unk", "unknown_token_id"},
        {"sep", "seperator_token_id"}, {"pad", "padding_token_id"}, {"cls", "cls_token_id"},
        {"mask", "mask_token_id"}};

    fs::path tokFile;
    uint32_t vocabSize;
    json tj;
    std::optional<json> cfgFile, configFile, genFile;
    const json* cfg = nullptr;  // tokenizer_config.json, when it is an object
    bool sentencePiece = false;
    std::vector<std::optional<std::string>> byId;  // id -> text, base vocabulary and added tokens
    std::unordered_map<int64_t, AddedToken> added;
    std::unordered_map<std::string, int64_t> addedByContent;
    std::map<std::string, int64_t> special;  // "bos" -> id, ...
    Metadata md;

    VocabBuilder(const fs::path& folder, uint32_t vocab)
        : tokFile(folder / "tokenizer.json"), vocabSize(vocab), tj(*readJson(tokFile, true)),
          cfgFile(readJson(folder / "tokenizer_config.json", false)),
          configFile(readJson(folder / "config.json", false)),
          genFile(readJson(folder / "generation_config.json", false)), byId(vocab) {
        if (cfgFile && cfgFile->is_object()) cfg = &*cfgFile;
    }

    bool inVocab(int64_t id) const { return id >= 0 && id < vocabSize; }

    void readVocabulary() {
        if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_object())
            throw FormatError(tokFile.string() + ": no \"model\" object");
        const json& model = tj["model"];
        if (model.value("type", "") != "BPE")
            throw FormatError(tokFile.string() + ": tokenizer model '" + model.value("type", "?") +
                              "' is not supported (only BPE tokenizers convert to GGUF here)");
        sentencePiece = model.value("byte_fallback", false);
        if (!model.contains("vocab") || !model["vocab"].is_object())
            throw FormatError(tokFile.string() + ": model.vocab is missing");
        for (const auto& [text, id] : model["vocab"].items()) {
            if (!id.is_number_integer()) throw FormatError(tokFile.string() + ": vocab entry '" + text + "' has no id");
            if (inVocab(id.get<int64_t>())) byId[id.get<size_t>()] = text;
        }
        if (!tj.contains("added_tokens") || !tj["added_tokens"].is_array()) return;
        for (const auto& a : tj["added_tokens"]) {
            if (!a.contains("id") || !a.contains("content")) continue;
            int64_t id = a["id"].get<int64_t>();
            AddedToken t{a["content"].get<std::string>(), a.value("special", false)};
            addedByContent.emplace(t.content, id);
            if (inVocab(id)) byId[static_cast<size_t>(id)] = t.content;
            added[id] = std::move(t);
        }
    }

    // tokenizer_config's token strings first, config.json's ids as a fallback.
    void findSpecialIds() {
        for (const auto& [kind, key] : kKinds) {
            if (!cfg) break;
            auto content = tokenContent(*cfg, std::string(kind) + "_token");
            if (!content) continue;
            auto it = addedByContent.find(*content);
            if (it != addedByContent.end() && inVocab(it->second)) special[kind] = it->second;
        }
        if (!configFile || !configFile->is_object()) return;
        for (const auto& [kind, key] : kKinds) {
            auto it = configFile->find(std::string(kind) + "_token_id");
            if (special.count(kind) || it == configFile->end() || !it->is_number_integer()) continue;
            if (inVocab(it->get<int64_t>())) special[kind] = it->get<int64_t>();
        }
    }

    int32_t tokenType(uint32_t i, const std::string& text) const {
        auto a = added.find(i);
        if (!sentencePiece) {
            if (a == added.end()) return kNormal;
            return a->second.special || looksSpecial(text) ? kControl : kUserDefined;
        }
        if (special.count("unk") && special.at("unk") == static_cast<int64_t>(i)) return kUnknown;
        if (isByteToken(text)) return kByte;
        if (a != added.end()) return a->second.special ? kControl : kUserDefined;
        return kNormal;
    }

    void addTokens() {
        md.emplace_back("tokenizer.ggml.model", str(sentencePiece ? "llama" : "gpt2"));
        if (!sentencePiece) md.emplace_back("tokenizer.ggml.pre", str(detectPreTokenizer(tj.dump())));
        auto merges = readMerges(tj["model"]);
        // SentencePiece merges the highest-scoring pair first: scores follow the merge order, and
        // pieces no merge produces rank below all merges.
        std::unordered_map<std::string, int64_t> mergeRank;
        if (sentencePiece)
            for (size_t r = 0; r < merges.size(); ++r) {
                auto sp = merges[r].find(' ');
                if (sp != std::string::npos)
                    mergeRank.emplace(merges[r].substr(0, sp) + merges[r].substr(sp + 1), static_cast<int64_t>(r));
            }
        std::vector<std::string> tokens(vocabSize);
        std::vector<int32_t> types(vocabSize);
        std::vector<float> scores(sentencePiece ? vocabSize : 0);
        for (uint32_t i = 0; i < vocabSize; ++i) {
            if (!byId[i]) {
                tokens[i] = "[PAD" + std::to_string(i) + "]";
                types[i] = kUnused;
                if (sentencePiece) scores[i] = -1e9f;
                continue;
            }
            tokens[i] = *byId[i];
            types[i] = tokenType(i, tokens[i]);
            if (!sentencePiece) continue;
            auto r = mergeRank.find(tokens[i]);
            scores[i] = r != mergeRank.end() ? -static_cast<float>(r->second) : -static_cast<float>(mergeRank.size() + i);
        }
        md.emplace_back("tokenizer.ggml.tokens", arrayOf(gguf::ValueType::String, std::move(tokens)));
        if (sentencePiece) md.emplace_back("tokenizer.ggml.scores", arrayOf(gguf::ValueType::Float32, std::move(scores)));
        md.emplace_back("tokenizer.ggml.token_type", arrayOf(gguf::ValueType::Int32, std::move(types)));
        if (!sentencePiece && !merges.empty())
            md.emplace_back("tokenizer.ggml.merges", arrayOf(gguf::ValueType::String, std::move(merges)));
    }

    void addSpecialIds() {
        for (const auto& [kind, key] : kKinds)
            if (special.count(kind)) md.emplace_back(std::string("tokenizer.ggml.") + key, u32(special[kind]));
    }

    bool hasKey(const std::string& key) const {
        return std::any_of(md.begin(), md.end(), [&](const auto& kv) { return kv.first == key; });
    }

    // An added token's id, unless it is the eos token already.
    std::optional<int64_t> addedId(const char* text) const {
        auto it = addedByContent.find(text);
        if (it == addedByContent.end() || !inVocab(it->second)) return std::nullopt;
        if (special.count("eos") && special.at("eos") == it->second) return std::nullopt;
        return it->second;
    }

    void addEndOfGeneration() {
        // generation_config.json may list more end-of-generation ids (<|eot_id|>, <|eom_id|>).
        if (genFile && genFile->is_object() && genFile->contains("eos_token_id")) {
            const char* slots[] = {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"};
            size_t next = 0;
            for (int64_t id : idList((*genFile)["eos_token_id"])) {
                if (!inVocab(id) || (special.count("eos") && special["eos"] == id)) continue;
                if (!special.count("eos")) {
                    special["eos"] = id;
                    md.emplace_back("tokenizer.ggml.eos_token_id", u32(id));
                } else if (next < 2) {
                    md.emplace_back(slots[next++], u32(id));
                }
            }
        }
        // GGUF has single eot/eom ids where HF lists several; readers of the ecosystem find the
        // rest by their text. Name the usual end-of-turn marker so that readers going by ids stop
        // there too.
        if (!hasKey("tokenizer.ggml.eot_token_id"))
            for (const char* text : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                     "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>"})
                if (auto id = addedId(text)) {
                    md.emplace_back("tokenizer.ggml.eot_token_id", u32(*id));
                    break;
                }
        if (!hasKey("tokenizer.ggml.eom_token_id"))
            if (auto id = addedId("<|eom_id|>")) md.emplace_back("tokenizer.ggml.eom_token_id", u32(*id));
    }

    std::optional<std::string> contentOf(const char* kind) const {
        if (!special.count(kind)) return std::nullopt;
        auto it = added.find(special.at(kind));
        return it != added.end() ? std::optional<std::string>(it->second.content) : byId[special.at(kind)];
    }

    // Whether encode() adds BOS/EOS: the post-processor template, overridden by tokenizer_config;
    // and for SentencePiece whether a "▁" goes before the first word (llama-2: yes, gemma-3: no).
    void addBosEosFlags() {
        std::optional<bool> addBos, addEos;
        templateAdds(tj.value("post_processor", json()), contentOf("bos"), contentOf("eos"), addBos, addEos);
        if (cfg) {
            if (cfg->contains("add_bos_token") && (*cfg)["add_bos_token"].is_boolean()) addBos = (*cfg)["add_bos_token"].get<bool>();
            if (cfg->contains("add_eos_token") && (*cfg)["add_eos_token"].is_boolean()) addEos = (*cfg)["add_eos_token"].get<bool>();
        }
        md.emplace_back("tokenizer.ggml.add_bos_token", gguf::Value{addBos.value_or(false)});
        md.emplace_back("tokenizer.ggml.add_eos_token", gguf::Value{addEos.value_or(false)});
        if (!sentencePiece) return;
        bool prefix = tj.contains("normalizer") && tj["normalizer"].dump().find("\"Prepend\"") != std::string::npos;
        if (!prefix && tj.contains("pre_tokenizer") && tj["pre_tokenizer"].is_object())
            prefix = tj["pre_tokenizer"].value("type", "") == "Metaspace" &&
                     tj["pre_tokenizer"].value("prepend_scheme", "always") != "never";
        md.emplace_back("tokenizer.ggml.add_space_prefix", gguf::Value{prefix});
    }
};

}  // namespace

std::string detectPreTokenizer(const std::string& tokenizerJsonText) {
    json tj;
    try {
        tj = json::parse(tokenizerJsonText);
    } catch (const json::exception&) {
        return "default";
    }
    std::vector<std::string> splits;
    bool byteLevelRegex = false;
    collectSplits(tj.value("pre_tokenizer", json()), splits, byteLevelRegex);
    const std::string llama3 =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
        "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const std::string qwen2 =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
        "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    for (const auto& s : splits) {
        if (s == llama3) return "llama-bpe";
        if (s == qwen2) return "qwen2";
        if (s.find("\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}") != std::string::npos) return "gpt-4o";
        if (s.find("\xe4\xb8\x80-\xe9\xbe\xa5") != std::string::npos) return "deepseek-v3";  // 一-龥
    }
    if (splits.empty() && byteLevelRegex) return "gpt2";
    return "default";
}

Metadata tokenizerMetadata(const fs::path& folder, uint32_t vocabSize) {
    VocabBuilder b(folder, vocabSize);
    b.readVocabulary();
    b.findSpecialIds();
    b.addTokens();
    b.addSpecialIds();
    b.addEndOfGeneration();
    b.addBosEosFlags();
    addChatTemplate(b.md, b.cfg, folder);
    return std::move(b.md);
}

}  // namespace hearth::convert
