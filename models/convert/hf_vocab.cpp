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
    const fs::path tokFile = folder / "tokenizer.json";
    json tj = *readJson(tokFile, true);
    auto cfgOpt = readJson(folder / "tokenizer_config.json", false);
    auto configOpt = readJson(folder / "config.json", false);
    auto genOpt = readJson(folder / "generation_config.json", false);
    const json* cfg = cfgOpt && cfgOpt->is_object() ? &*cfgOpt : nullptr;

    if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_object())
        throw FormatError(tokFile.string() + ": no \"model\" object");
    const json& model = tj["model"];
    if (model.value("type", "") != "BPE")
        throw FormatError(tokFile.string() + ": tokenizer model '" + model.value("type", "?") +
                          "' is not supported (only BPE tokenizers convert to GGUF here)");
    const bool sentencePiece = model.value("byte_fallback", false);
    if (!model.contains("vocab") || !model["vocab"].is_object())
        throw FormatError(tokFile.string() + ": model.vocab is missing");

    // id -> text, from the base vocabulary and the added tokens.
    std::vector<std::optional<std::string>> byId(vocabSize);
    for (const auto& [text, id] : model["vocab"].items()) {
        if (!id.is_number_integer()) throw FormatError(tokFile.string() + ": vocab entry '" + text + "' has no id");
        auto i = id.get<int64_t>();
        if (i >= 0 && i < vocabSize) byId[static_cast<size_t>(i)] = text;
    }
    std::unordered_map<int64_t, AddedToken> added;
    std::unordered_map<std::string, int64_t> addedByContent;
    if (tj.contains("added_tokens") && tj["added_tokens"].is_array()) {
        for (const auto& a : tj["added_tokens"]) {
            if (!a.contains("id") || !a.contains("content")) continue;
            int64_t id = a["id"].get<int64_t>();
            AddedToken t{a["content"].get<std::string>(), a.value("special", false)};
            addedByContent.emplace(t.content, id);
            if (id >= 0 && id < vocabSize) byId[static_cast<size_t>(id)] = t.content;
            added[id] = std::move(t);
        }
    }

    // Special-token ids: tokenizer_config's token strings first, config.json's ids as a fallback.
    std::map<std::string, int64_t> special;
    const std::pair<const char*, const char*> kinds[] = {
        {"bos", "bos_token_id"}, {"eos", "eos_token_id"}, {"unk", "unknown_token_id"},
        {"sep", "seperator_token_id"}, {"pad", "padding_token_id"}, {"cls", "cls_token_id"},
        {"mask", "mask_token_id"}};
    for (const auto& [kind, key] : kinds) {
        if (!cfg) break;
        auto content = tokenContent(*cfg, std::string(kind) + "_token");
        if (!content) continue;
        auto it = addedByContent.find(*content);
        if (it != addedByContent.end() && it->second < vocabSize) special[kind] = it->second;
    }
    if (configOpt && configOpt->is_object())
        for (const auto& [kind, key] : kinds) {
            auto it = configOpt->find(std::string(kind) + "_token_id");
            if (special.count(kind) || it == configOpt->end() || !it->is_number_integer()) continue;
            auto id = it->get<int64_t>();
            if (id >= 0 && id < vocabSize) special[kind] = id;
        }

    Metadata md;
    md.emplace_back("tokenizer.ggml.model", str(sentencePiece ? "llama" : "gpt2"));
    if (!sentencePiece) md.emplace_back("tokenizer.ggml.pre", str(detectPreTokenizer(tj.dump())));

    auto merges = sentencePiece ? std::vector<std::string>() : readMerges(model);
    std::unordered_map<std::string, int64_t> mergeRank;  // SentencePiece scores come from merge order
    if (sentencePiece) {
        auto spMerges = readMerges(model);
        for (size_t r = 0; r < spMerges.size(); ++r) {
            auto sp = spMerges[r].find(' ');
            if (sp == std::string::npos) continue;
            mergeRank.emplace(spMerges[r].substr(0, sp) + spMerges[r].substr(sp + 1), static_cast<int64_t>(r));
        }
    }
    const int64_t unkId = special.count("unk") ? special["unk"] : -1;

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
        auto a = added.find(i);
        if (sentencePiece) {
            auto r = mergeRank.find(tokens[i]);
            // Higher score merges first: the merge rank order, with unmerged pieces below all merges.
            scores[i] = r != mergeRank.end() ? -static_cast<float>(r->second)
                                             : -static_cast<float>(mergeRank.size() + i);
            if (unkId == static_cast<int64_t>(i)) types[i] = kUnknown;
            else if (isByteToken(tokens[i])) types[i] = kByte;
            else if (a != added.end()) types[i] = a->second.special ? kControl : kUserDefined;
            else types[i] = kNormal;
        } else {
            if (a != added.end()) types[i] = (a->second.special || looksSpecial(tokens[i])) ? kControl : kUserDefined;
            else types[i] = kNormal;
        }
    }
    md.emplace_back("tokenizer.ggml.tokens", arrayOf(gguf::ValueType::String, std::move(tokens)));
    if (sentencePiece) md.emplace_back("tokenizer.ggml.scores", arrayOf(gguf::ValueType::Float32, std::move(scores)));
    md.emplace_back("tokenizer.ggml.token_type", arrayOf(gguf::ValueType::Int32, std::move(types)));
    if (!merges.empty()) md.emplace_back("tokenizer.ggml.merges", arrayOf(gguf::ValueType::String, std::move(merges)));

    for (const auto& [kind, key] : kinds)
        if (special.count(kind)) md.emplace_back(std::string("tokenizer.ggml.") + key, u32(special[kind]));

    // Other end-of-generation ids (generation_config.json lists e.g. <|eot_id|> and <|eom_id|>).
    if (genOpt && genOpt->is_object() && genOpt->contains("eos_token_id")) {
        std::vector<const char*> slots = {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"};
        size_t next = 0;
        for (int64_t id : idList((*genOpt)["eos_token_id"])) {
            if (id < 0 || id >= vocabSize || (special.count("eos") && special["eos"] == id)) continue;
            if (!special.count("eos")) {
                special["eos"] = id;
                md.emplace_back("tokenizer.ggml.eos_token_id", u32(id));
            } else if (next < slots.size()) {
                md.emplace_back(slots[next++], u32(id));
            }
        }
    }

    // GGUF has single eot/eom ids where HF configs list several end-of-generation ids; readers of
    // the ecosystem find the rest by their text. Name the usual end-of-turn marker explicitly so
    // that readers going by ids alone stop there too.
    auto hasKey = [&](const std::string& key) {
        return std::any_of(md.begin(), md.end(), [&](const auto& kv) { return kv.first == key; });
    };
    auto addedId = [&](const char* text) -> std::optional<int64_t> {
        auto it = addedByContent.find(text);
        if (it == addedByContent.end() || it->second >= vocabSize) return std::nullopt;
        if (special.count("eos") && special["eos"] == it->second) return std::nullopt;
        return it->second;
    };
    if (!hasKey("tokenizer.ggml.eot_token_id"))
        for (const char* text : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                 "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>"})
            if (auto id = addedId(text)) {
                md.emplace_back("tokenizer.ggml.eot_token_id", u32(*id));
                break;
            }
    if (!hasKey("tokenizer.ggml.eom_token_id"))
        if (auto id = addedId("<|eom_id|>")) md.emplace_back("tokenizer.ggml.eom_token_id", u32(*id));

    // Whether encode() adds BOS/EOS: the post-processor template, overridden by tokenizer_config.
    std::optional<bool> addBos, addEos;
    auto contentOf = [&](const char* kind) -> std::optional<std::string> {
        if (!special.count(kind)) return std::nullopt;
        auto it = added.find(special[kind]);
        return it != added.end() ? std::optional<std::string>(it->second.content) : byId[special[kind]];
    };
    templateAdds(tj.value("post_processor", json()), contentOf("bos"), contentOf("eos"), addBos, addEos);
    if (cfg) {
        if (cfg->contains("add_bos_token") && (*cfg)["add_bos_token"].is_boolean()) addBos = (*cfg)["add_bos_token"].get<bool>();
        if (cfg->contains("add_eos_token") && (*cfg)["add_eos_token"].is_boolean()) addEos = (*cfg)["add_eos_token"].get<bool>();
    }
    md.emplace_back("tokenizer.ggml.add_bos_token", gguf::Value{addBos.value_or(false)});
    md.emplace_back("tokenizer.ggml.add_eos_token", gguf::Value{addEos.value_or(false)});
    if (sentencePiece) {
        // The "▁" prefix SentencePiece adds before the first word (llama-2: yes, gemma-3: no).
        bool prefix = tj.contains("normalizer") && tj["normalizer"].dump().find("\"Prepend\"") != std::string::npos;
        if (!prefix && tj.contains("pre_tokenizer") && tj["pre_tokenizer"].is_object())
            prefix = tj["pre_tokenizer"].value("type", "") == "Metaspace" &&
                     tj["pre_tokenizer"].value("prepend_scheme", "always") != "never";
        md.emplace_back("tokenizer.ggml.add_space_prefix", gguf::Value{prefix});
    }
    addChatTemplate(md, cfg, folder);
    return md;
}

}  // namespace hearth::convert
