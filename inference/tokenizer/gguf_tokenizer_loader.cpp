// Tokenizer::fromGguf and the reverse mapping (tokenizer.json -> tokenizer.ggml.* metadata).
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "inference/tokenizer/gguf_tokenizer.h"
#include "inference/tokenizer/split_regex.h"
#include "inference/tokenizer/tokenizer.h"
#include "inference/tokenizer/tokenizer_data.h"

namespace hearth {

namespace {

// The split regexes exactly as the models' tokenizer.json files spell them.
const std::string kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string kO200k =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string kDeepSeekV3Digits = R"(\p{N}{1,3})";
const std::string kDeepSeekV3Cjk = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+";
const std::string kDeepSeekV3Main =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const std::vector<GgufPreTokenizer>& table() {
    static const std::vector<GgufPreTokenizer> t = {
        {"llama-bpe", {kLlama3}, false, false, true},
        {"llama3", {kLlama3}, false, false, true},
        {"qwen2", {kQwen2}, false, true, false},
        {"deepseek-r1-qwen", {kQwen2}, false, true, false},
        {"deepseek-v3", {kDeepSeekV3Digits, kDeepSeekV3Cjk, kDeepSeekV3Main}, false, false, false},
        {"gpt-4o", {kO200k}, false, false, true},
        {"smollm", {R"(\p{N})"}, true, false, false},  // Digits(individual) + GPT-2's ByteLevel regex
        {"gpt2", {}, true, false, false},
        {"default", {}, true, false, false},
    };
    return t;
}

const gguf::Array& requireArray(const gguf::GgufFile& f, const std::string& key, gguf::ValueType type) {
    const gguf::Array* a = f.getArray(key);
    if (!a) throw TokenizerError(f.path().string() + ": " + key + " is missing");
    if (a->elementType != type) throw TokenizerError(f.path().string() + ": " + key + " has the wrong element type");
    return *a;
}

// Regexes compare equal whether line breaks are written as escapes or as the characters
// themselves (DeepSeek's tokenizer.json has raw CR/LF inside its classes).
std::string canonicalRegex(std::string s) {
    std::string out;
    for (char c : s) {
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

enum TokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

}  // namespace

const GgufPreTokenizer* findGgufPreTokenizer(const std::string& name) {
    for (const auto& p : table())
        if (p.name == name) return &p;
    return nullptr;
}

std::vector<std::string> knownGgufPreTokenizers() {
    std::vector<std::string> names;
    for (const auto& p : table()) names.push_back(p.name);
    return names;
}

Tokenizer Tokenizer::fromGguf(const gguf::GgufFile& file) {
    auto d = std::make_shared<TokenizerData>();
    d->source = file.path().string();
    const auto model = file.getString("tokenizer.ggml.model");
    if (!model) throw TokenizerError(d->source + ": no tokenizer in this file (tokenizer.ggml.model is missing)");
    const gguf::Array& tokens = requireArray(file, "tokenizer.ggml.tokens", gguf::ValueType::String);
    const gguf::Array* types = file.getArray("tokenizer.ggml.token_type");
    const gguf::Array* scores = file.getArray("tokenizer.ggml.scores");
    const gguf::Array* merges = file.getArray("tokenizer.ggml.merges");
    if (types && types->items.size() != tokens.items.size())
        throw TokenizerError(d->source + ": tokenizer.ggml.token_type and tokenizer.ggml.tokens differ in length");

    ModelSource src;
    const bool spm = *model == "llama";
    if (*model == "gpt2") {
        const std::string preName = file.getString("tokenizer.ggml.pre").value_or("default");
        const GgufPreTokenizer* pre = findGgufPreTokenizer(preName);
        if (!pre) {
            std::string names;
            for (const auto& n : knownGgufPreTokenizers()) names += (names.empty() ? "" : ", ") + n;
            throw TokenizerError(d->source + ": tokenizer.ggml.pre '" + preName + "' is not supported (known: " + names + ")");
        }
        std::vector<PreTokenizer::Step> steps;
        for (const auto& r : pre->splits) {
            PreTokenizer::Step s;
            s.kind = PreTokenizer::Kind::Split;
            s.regex = std::make_shared<SplitRegex>(SplitRegex::fromOniguruma(r));
            steps.push_back(std::move(s));
        }
        PreTokenizer::Step byteLevel;
        byteLevel.kind = PreTokenizer::Kind::ByteLevel;
        if (pre->gpt2Regex) byteLevel.regex = PreTokenizer::gpt2Regex();
        steps.push_back(std::move(byteLevel));
        d->preTokenizer = PreTokenizer::fromSteps(std::move(steps), true);
        if (pre->nfc) d->normalizer = Normalizer::fromSteps({Normalizer::Step{Normalizer::Kind::Nfc}});
        d->decoder.byteLevel = true;
        src.options.byteLevel = true;
        src.options.ignoreMerges = pre->ignoreMerges;
        if (!merges) throw TokenizerError(d->source + ": tokenizer.ggml.merges is missing (needed by a BPE tokenizer)");
    } else if (spm) {
        const bool prefixSpace = file.getBool("tokenizer.ggml.add_space_prefix").value_or(true);
        std::vector<Normalizer::Step> steps;
        if (prefixSpace) {
            Normalizer::Step s{Normalizer::Kind::Prepend};
            s.content = "\u2581";
            steps.push_back(std::move(s));
        }
        Normalizer::Step replace{Normalizer::Kind::Replace};
        replace.pattern = " ";
        replace.content = "\u2581";
        steps.push_back(std::move(replace));
        d->normalizer = Normalizer::fromSteps(std::move(steps));
        d->decoder.replacements = {{"\u2581", " "}};
        d->decoder.byteFallback = true;
        d->decoder.dropGroupBom = true;
        d->decoder.stripStart = prefixSpace ? 1 : 0;
        src.options.byteFallback = true;
        src.options.fuseUnk = true;
        if (!merges && !scores) throw TokenizerError(d->source + ": neither tokenizer.ggml.merges nor tokenizer.ggml.scores");
    } else {
        throw TokenizerError(d->source + ": tokenizer.ggml.model '" + *model + "' is not supported (gpt2 or llama)");
    }

    for (size_t id = 0; id < tokens.items.size(); ++id) {
        const std::string& text = *tokens.items[id].asString();
        int64_t type = types ? types->items[id].asInt().value_or(int64_t{Normal}) : int64_t{Normal};
        if (type == Control || type == UserDefined || type == Unknown) {
            AddedTokenInfo a;
            a.content = text;
            a.id = static_cast<int32_t>(id);
            a.special = type != UserDefined;
            d->added.push_back(std::move(a));
        }
        // Added tokens stay in the model's vocabulary too: merges may build them (gemma's "▁▁").
        if (type != Unused) src.vocab.emplace_back(text, static_cast<int32_t>(id));
    }
    if (merges) {
        for (const auto& m : merges->items) {
            const std::string* s = m.asString();
            if (!s) throw TokenizerError(d->source + ": tokenizer.ggml.merges holds a non-string");
            size_t space = s->find(' ');
            if (space == std::string::npos) throw TokenizerError(d->source + ": merge '" + *s + "' has no space");
            src.merges.emplace_back(s->substr(0, space), s->substr(space + 1));
        }
    } else if (scores) {
        for (const auto& v : scores->items) src.scores.push_back(static_cast<float>(v.asFloat().value_or(0.0)));
        src.scores.resize(tokens.items.size(), 0.0f);
    }
    auto idKey = [&](const char* key) -> std::optional<int32_t> {
        auto v = file.getUInt(key);
        if (!v || *v >= tokens.items.size()) return std::nullopt;
        return static_cast<int32_t>(*v);
    };
    d->unk = idKey("tokenizer.ggml.unknown_token_id");
    d->bos = idKey("tokenizer.ggml.bos_token_id");
    for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
        if (auto id = idKey(key); id && std::find(d->eos.begin(), d->eos.end(), *id) == d->eos.end()) d->eos.push_back(*id);
    d->decoder.cleanUp = false;
    completeTokenizerData(*d, std::move(src));

    if (d->bos) d->bosText = d->pieces[*d->bos];
    if (!d->eos.empty()) d->eosText = d->pieces[d->eos.front()];
    if (file.getBool("tokenizer.ggml.add_bos_token").value_or(spm) && d->bos) d->prefix.push_back(*d->bos);
    if (file.getBool("tokenizer.ggml.add_eos_token").value_or(false) && !d->eos.empty()) d->suffix.push_back(d->eos.front());
    return Tokenizer(std::move(d));
}

std::vector<std::pair<std::string, gguf::Value>> ggufMetadataFromHfTokenizer(
    const std::filesystem::path& tokenizerJson, const std::filesystem::path& tokenizerConfigJson) {
    return ggufMetadataFromHfTokenizer(Tokenizer::fromHfFiles(tokenizerJson, tokenizerConfigJson), tokenizerJson);
}

std::vector<std::pair<std::string, gguf::Value>> ggufMetadataFromHfTokenizer(const Tokenizer& tok,
                                                                             const std::filesystem::path& tokenizerJson) {
    using nlohmann::json;
    std::ifstream in(tokenizerJson, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const json j = json::parse(buffer.str());
    const json& model = j.at("model");

    // Which known pre-tokenizer is this? Compare the Split regexes literally.
    std::vector<std::string> splits;
    bool byteLevel = false, gpt2Regex = false;
    std::function<void(const json&)> walk = [&](const json& p) {
        if (p.is_null()) return;
        const std::string type = p.value("type", "");
        if (type == "Sequence") {
            for (const auto& x : p.at("pretokenizers")) walk(x);
        } else if (type == "Split" && p.at("pattern").contains("Regex")) {
            splits.push_back(canonicalRegex(p["pattern"]["Regex"].get<std::string>()));
        } else if (type == "ByteLevel") {
            byteLevel = true;
            gpt2Regex = p.value("use_regex", true);
        }
    };
    walk(j.value("pre_tokenizer", json()));

    std::vector<std::pair<std::string, gguf::Value>> kv;
    auto str = [](std::string s) { return gguf::Value{std::move(s)}; };
    gguf::Array tokens{gguf::ValueType::String, {}}, types{gguf::ValueType::Int32, {}}, merges{gguf::ValueType::String, {}};
    std::vector<bool> isAdded(tok.vocabSize(), false);
    for (const auto& a : j.value("added_tokens", json::array())) {
        int32_t id = a.at("id").get<int32_t>();
        if (id >= 0 && static_cast<size_t>(id) < isAdded.size()) isAdded[id] = true;
    }
    std::optional<int32_t> unk;
    if (model.contains("unk_token") && model["unk_token"].is_string()) unk = tok.tokenId(model["unk_token"].get<std::string>());
    for (size_t id = 0; id < tok.vocabSize(); ++id) {
        std::string_view piece = tok.tokenText(static_cast<int32_t>(id));
        int32_t type = Normal;
        if (unk && *unk == static_cast<int32_t>(id)) type = Unknown;
        else if (isAdded[id]) type = tok.isSpecial(static_cast<int32_t>(id)) ? Control : UserDefined;
        else if (piece.empty()) type = Unused;
        else if (!byteLevel && piece.size() == 6 && piece.substr(0, 3) == "<0x") type = Byte;
        tokens.items.push_back(str(piece.empty() ? "[PAD" + std::to_string(id) + "]" : std::string(piece)));
        types.items.push_back(gguf::Value{type});
    }
    for (const auto& m : model.value("merges", json::array())) {
        if (m.is_array()) merges.items.push_back(str(m[0].get<std::string>() + " " + m[1].get<std::string>()));
        else merges.items.push_back(str(m.get<std::string>()));
    }

    kv.emplace_back("tokenizer.ggml.model", str(byteLevel ? "gpt2" : "llama"));
    if (byteLevel) {
        std::string name;
        if (splits.empty() && gpt2Regex) name = "gpt2";
        for (const auto& p : table()) {
            std::vector<std::string> known;
            for (const auto& r : p.splits) known.push_back(canonicalRegex(r));
            if (!p.gpt2Regex && known == splits && name.empty()) name = p.name;
        }
        if (name.empty()) throw TokenizerError(tokenizerJson.string() + ": its pre-tokenizer matches no known tokenizer.ggml.pre");
        kv.emplace_back("tokenizer.ggml.pre", str(name));
    } else {
        const json& norm = j.value("normalizer", json());
        bool prepend = norm.dump().find("\"Prepend\"") != std::string::npos;
        kv.emplace_back("tokenizer.ggml.add_space_prefix", gguf::Value{prepend});
    }
    kv.emplace_back("tokenizer.ggml.tokens", gguf::Value{std::move(tokens)});
    kv.emplace_back("tokenizer.ggml.token_type", gguf::Value{std::move(types)});
    kv.emplace_back("tokenizer.ggml.merges", gguf::Value{std::move(merges)});
    // What encode() adds is what the GGUF flags must say.
    std::vector<int32_t> framed = tok.encode("", true);
    if (auto bos = tok.bosId()) {
        kv.emplace_back("tokenizer.ggml.bos_token_id", gguf::Value{static_cast<uint32_t>(*bos)});
        kv.emplace_back("tokenizer.ggml.add_bos_token", gguf::Value{!framed.empty() && framed.front() == *bos});
    }
    if (!tok.eosIds().empty()) {
        int32_t eos = tok.eosIds().front();
        kv.emplace_back("tokenizer.ggml.eos_token_id", gguf::Value{static_cast<uint32_t>(eos)});
        kv.emplace_back("tokenizer.ggml.add_eos_token", gguf::Value{!framed.empty() && framed.back() == eos &&
                                                                    !(framed.size() == 1 && tok.bosId() == eos)});
    }
    if (unk) kv.emplace_back("tokenizer.ggml.unknown_token_id", gguf::Value{static_cast<uint32_t>(*unk)});
    return kv;
}

}  // namespace hearth
