// Tokenizer::fromHfFiles: tokenizer.json (+ tokenizer_config.json) -> TokenizerData.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "inference/tokenizer/tokenizer.h"
#include "inference/tokenizer/tokenizer_data.h"

namespace hearth {

namespace {

using nlohmann::json;

json readJson(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw TokenizerError(path.string() + ": cannot open the file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    try {
        return json::parse(buffer.str());
    } catch (const json::exception& e) {
        throw TokenizerError(path.string() + ": not valid JSON (" + e.what() + ")");
    }
}

// bos_token and friends are a string, null, or an AddedToken object with "content".
std::optional<std::string> configTokenText(const json& config, const char* key) {
    auto it = config.find(key);
    if (it == config.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
        return (*it)["content"].get<std::string>();
    return std::nullopt;
}

DecoderPlan decoderPlan(const json& j, const std::string& source) {
    DecoderPlan plan;
    if (j.is_null()) throw TokenizerError(source + ": a tokenizer without a decoder is not supported");
    bool fused = false;
    std::vector<json> chain;
    if (j.value("type", "") == "Sequence") {
        for (const auto& x : j.value("decoders", json::array())) chain.push_back(x);
    } else {
        chain.push_back(j);
    }
    for (const json& step : chain) {
        const std::string type = step.value("type", "");
        if (type == "ByteLevel") {
            plan.byteLevel = true;
        } else if (type == "ByteFallback") {
            plan.byteFallback = true;
            plan.dropGroupBom = true;
        } else if (type == "Fuse") {
            fused = true;
        } else if (type == "Replace" && step.contains("pattern") && step["pattern"].contains("String")) {
            plan.replacements.emplace_back(step["pattern"]["String"].get<std::string>(), step.value("content", ""));
        } else if (type == "Strip" && fused && step.value("content", " ") == " " && step.value("stop", 0) == 0) {
            plan.stripStart = step.value("start", 0);
        } else if (type == "Metaspace") {
            plan.replacements.emplace_back(step.value("replacement", "\u2581"), " ");
            plan.stripFirstToken = step.value("prepend_scheme", "always") != "never" && step.value("add_prefix_space", true);
        } else {
            throw TokenizerError(source + ": decoder '" + type + "' (in this arrangement) is not supported");
        }
    }
    return plan;
}

std::vector<int32_t> idsOf(const json& specialTokens, const std::string& name, const TokenizerData& d,
                           const std::string& source) {
    if (specialTokens.contains(name) && specialTokens[name].contains("ids"))
        return specialTokens[name]["ids"].get<std::vector<int32_t>>();
    for (const auto& a : d.added)
        if (a.content == name) return {a.id};
    throw TokenizerError(source + ": post_processor names the unknown special token '" + name + "'");
}

// TemplateProcessing "single": the ids before and after the text.
void readTemplate(const json& pp, TokenizerData& d) {
    if (pp.is_null()) return;
    const std::string type = pp.value("type", "");
    if (type == "Sequence") {
        for (const auto& p : pp.value("processors", json::array())) readTemplate(p, d);
        return;
    }
    if (type == "ByteLevel") return;
    if (type == "TemplateProcessing") {
        bool seenSequence = false;
        for (const auto& item : pp.at("single")) {
            if (item.contains("Sequence")) {
                seenSequence = true;
            } else if (item.contains("SpecialToken")) {
                auto ids = idsOf(pp.value("special_tokens", json::object()),
                                 item["SpecialToken"].at("id").get<std::string>(), d, d.source);
                auto& target = seenSequence ? d.suffix : d.prefix;
                target.insert(target.end(), ids.begin(), ids.end());
            }
        }
        return;
    }
    if (type == "RobertaProcessing" || type == "BertProcessing") {
        d.prefix.push_back(pp.at("cls").at(1).get<int32_t>());
        d.suffix.push_back(pp.at("sep").at(1).get<int32_t>());
        return;
    }
    throw TokenizerError(d.source + ": post_processor '" + type + "' is not supported");
}

// Ids that end a generation besides eos_token: the end-of-turn markers of the chat formats.
void addEndOfGeneration(TokenizerData& d) {
    static const char* known[] = {"<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>",
                                  "<|return|>", "<|call|>", "<|endoftext|>", "<｜end▁of▁sentence｜>", "</s>",
                                  "<|end_of_text|>"};
    for (const char* text : known)
        for (const auto& a : d.added)
            if (a.special && a.content == text && std::find(d.eos.begin(), d.eos.end(), a.id) == d.eos.end())
                d.eos.push_back(a.id);
}

}  // namespace

Tokenizer Tokenizer::fromHfFiles(const std::filesystem::path& tokenizerJson,
                                 const std::filesystem::path& tokenizerConfigJson) {
    const json j = readJson(tokenizerJson);
    json config = json::object();
    std::error_code ec;
    if (!tokenizerConfigJson.empty() && std::filesystem::exists(tokenizerConfigJson, ec))
        config = readJson(tokenizerConfigJson);
    if (!config.is_object()) config = json::object();

    auto d = std::make_shared<TokenizerData>();
    d->source = tokenizerJson.string();
    try {
        const json& model = j.at("model");
        const std::string type = model.value("type", "BPE");
        if (type != "BPE") throw TokenizerError(d->source + ": model type '" + type + "' is not supported (only BPE)");
        for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
            if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
                throw TokenizerError(d->source + ": BPE with " + key + " is not supported");

        d->normalizer = Normalizer::fromJson(j.value("normalizer", json()));
        d->preTokenizer = PreTokenizer::fromJson(j.value("pre_tokenizer", json()));
        d->decoder = decoderPlan(j.value("decoder", json()), d->source);
        for (const auto& a : j.value("added_tokens", json::array())) {
            AddedTokenInfo t;
            t.content = a.at("content").get<std::string>();
            t.id = a.at("id").get<int32_t>();
            t.special = a.value("special", false);
            t.lstrip = a.value("lstrip", false);
            t.rstrip = a.value("rstrip", false);
            t.singleWord = a.value("single_word", false);
            t.normalized = a.value("normalized", !t.special);
            d->added.push_back(std::move(t));
        }

        ModelSource src;
        for (const auto& [piece, id] : model.at("vocab").items()) src.vocab.emplace_back(piece, id.get<int32_t>());
        for (const auto& m : model.value("merges", json::array())) {
            if (m.is_array() && m.size() == 2) {
                src.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
            } else if (m.is_string()) {
                const std::string s = m.get<std::string>();
                size_t space = s.find(' ');
                if (space == std::string::npos) throw TokenizerError(d->source + ": merge '" + s + "' has no space");
                size_t end = s.find(' ', space + 1);
                src.merges.emplace_back(s.substr(0, space), s.substr(space + 1, end == std::string::npos ? end : end - space - 1));
            } else {
                throw TokenizerError(d->source + ": a merge is neither \"a b\" nor [a, b]");
            }
        }
        src.options.byteLevel = d->preTokenizer.byteLevel();
        src.options.byteFallback = model.value("byte_fallback", false);
        src.options.ignoreMerges = model.value("ignore_merges", false);
        src.options.fuseUnk = model.value("fuse_unk", false);
        if (model.contains("unk_token") && model["unk_token"].is_string()) {
            const std::string unk = model["unk_token"].get<std::string>();
            for (const auto& [piece, id] : src.vocab)
                if (piece == unk) d->unk = id;
            for (const auto& a : d->added)
                if (a.content == unk) d->unk = a.id;
        }
        for (const auto& x : config.value("additional_special_tokens", json::array())) {
            if (x.is_string()) src.extraSpecialTexts.push_back(x.get<std::string>());
            else if (x.is_object() && x.contains("content")) src.extraSpecialTexts.push_back(x["content"].get<std::string>());
        }

        auto cleanup = config.find("clean_up_tokenization_spaces");
        d->decoder.cleanUp = cleanup == config.end() || !cleanup->is_boolean() || cleanup->get<bool>();

        completeTokenizerData(*d, std::move(src));

        readTemplate(j.value("post_processor", json()), *d);
        d->bosText = configTokenText(config, "bos_token").value_or("");
        d->eosText = configTokenText(config, "eos_token").value_or("");
        auto idOf = [&](const std::string& text) -> std::optional<int32_t> {
            if (text.empty()) return std::nullopt;
            if (auto it = d->addedByText.find(text); it != d->addedByText.end()) return d->added[it->second].id;
            if (auto it = d->pieceIds.find(text); it != d->pieceIds.end()) return it->second;
            return std::nullopt;
        };
        d->bos = idOf(d->bosText);
        if (auto e = idOf(d->eosText)) d->eos.push_back(*e);
        addEndOfGeneration(*d);
        // transformers rebuilds the template from add_bos_token / add_eos_token when the config
        // sets them (LlamaTokenizerFast and friends), whatever tokenizer.json's post_processor says.
        auto flag = [&](const char* key) -> std::optional<bool> {
            auto it = config.find(key);
            if (it == config.end() || !it->is_boolean()) return std::nullopt;
            return it->get<bool>();
        };
        auto addBos = flag("add_bos_token"), addEos = flag("add_eos_token");
        if (addBos || addEos) {
            d->prefix.clear();
            d->suffix.clear();
            if (addBos.value_or(false) && d->bos) d->prefix.push_back(*d->bos);
            if (addEos.value_or(false))
                if (auto e = idOf(d->eosText)) d->suffix.push_back(*e);
        }
    } catch (const json::exception& e) {
        throw TokenizerError(d->source + ": unexpected tokenizer.json layout (" + e.what() + ")");
    }
    return Tokenizer(std::move(d));
}

}  // namespace hearth
