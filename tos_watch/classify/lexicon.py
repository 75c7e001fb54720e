"""The clause lexicon: weighted cue patterns per category, built from taxonomy.md.

Each cue is a small, named unit (STYLE.md point 5): a regular expression and a
weight. A clause is flagged under a category when the distinct cues that match
add up to at least 1.0: a strong cue (a licence qualifier, "law enforcement",
"indefinitely") flags alone, weak ones (a bare "third parties", "store") only
together. This keeps "access the Service" or "store" in an unrelated clause
from flagging, which is where a plain keyword match goes wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tos_watch.classify.gates import contains_any, gates, lowered_regex, needles


@dataclass(frozen=True)
class Cue:
    """One lexical cue of a category, with the word prefixes any match must contain (its gates).

    A negative weight is a veto: context that makes the category's other cues misleading.
    """

    pattern: re.Pattern[str]  # case-insensitive, for any text
    weight: float
    gates: tuple[frozenset[str], ...] = ()  # word prefixes: each set must meet the text's (see `gates`)
    lower: re.Pattern[str] | None = None  # the same regex for lower-cased text, case-sensitive
    needles: frozenset[str] | None = None  # strings one of which every match of `lower` holds (see `gates`)

    def search(self, prefixes: frozenset[str], text: str, low: str | None = None) -> re.Match[str] | None:
        """The first match, skipping the regex when none of its gate words occur.

        Why: the regexes scan every position with wide alternations and gaps, while
        a set test is one C call; most cues cannot match most clauses. `prefixes` is
        `word_prefixes(text)`; given `low` (text.lower(), same length), the match is
        made on it with the case-sensitive twin, several times faster than IGNORECASE;
        its span indexes `text` too. There the needles are tested first: a gate word
        ("de" for "de-identified") often occurs where the needle ("identif") does not.
        """
        for gate in self.gates:  # inline `gates.passes`: this runs for every cue of every clause
            if gate.isdisjoint(prefixes):
                return None
        if low is not None and self.lower is not None and len(low) == len(text):
            return self.lower.search(low) if contains_any(low, self.needles) else None
        return self.pattern.search(text)

    def finditer(self, text: str, low: str | None, pos: int = 0) -> Iterator[re.Match[str]]:
        """All matches from `pos`, on `low` when given (see `search`)."""
        if low is not None and self.lower is not None and len(low) == len(text):
            return self.lower.finditer(low, pos)
        return self.pattern.finditer(text, pos)


def _c(regex: str, weight: float = 1.0) -> Cue:
    lower = re.compile(lowered_regex(regex))
    return Cue(re.compile(regex, re.IGNORECASE), weight, gates(regex), lower, needles(lower))


_DATA = r"(?:personal\s+)?(?:data|information|info|content|recordings?|footage|videos?|photos?|messages|details)"
_RECIPIENT = (r"(?:third[\s-]+part(?:y|ies)|affiliates?|subsidiar(?:y|ies)|(?:service|data|cloud)\s+providers?"
              r"|vendors?|contractors?|sub-?processors?|processors?|partners?|advertisers?|marketers|sponsors"
              r"|data\s+brokers?|law\s+enforcement|police|government(?:al)?|authorities|regulators?|agenc(?:y|ies)"
              r"|employers?|buyers?|acquirers?|successors?|purchasers?|employees|staff|personnel"
              r"|human\s+reviewers?|moderators?|agents|administrators?|hosting\s+(?:company|provider)"
              r"|other\s+(?:companies|users|members|organi[sz]ations|websites|applications|apps|services)"
              r"|3rd[\s-]+part(?:y|ies)|compan(?:y|ies)\s+(?:that|you|who|which|outside)|not\s+owned\s+by\s+us"
              r"|anyone|third[\s-]+party\s+services?)")
_SHARE = (r"(?:shar(?:e|es|ed|ing)|disclos(?:e|es|ed|ing|ure)|sell|sells|sold|sale\s+of|rent(?:s|ed)?\b|transfer"
          r"(?:s|red|ring)?|provid(?:e|es|ed)\s+(?:it|them|your|such|this|the)\b|mak(?:e|es)\s+available"
          r"|hand(?:ed)?\s+over|send|sends|sent|forward(?:s|ed)?|reveal(?:s|ed)?|releas(?:e|ed)\s+(?:your|the|such)|(?:have|has|get|gain|given|grant(?:ed)?)\s+"
          r"access|access(?:es|ed)?\s+(?:to\s+)?(?:your|the\s+content|recordings|footage|accounts?|data))")

CUES: dict[str, tuple[Cue, ...]] = {
    "licensing": (
        _c(r"\b(?:licen[cs]e|right)s?\b.{0,160}\b(?:worldwide|world-wide|perpetual|irrevocable|royalty[\s-]*free"
           r"|sub-?licens\w*|transferable|fully[\s-]paid)"),
        _c(r"\b(?:worldwide|perpetual|irrevocable|non-?exclusive|royalty[\s-]*free|sub-?licensable|transferable)\b"
           r".{0,160}\blicen[cs]e"),
        _c(r"\bgrants?\b.{0,60}\b(?:us|we|the\s+company|[A-Z]\w+)\b.{0,40}\b(?:licen[cs]e|right\s+to\s+use)", 1.0),
        _c(r"\blicen[cs]e\b.{0,80}\b(?:your|user|member)s?\b.{0,30}\b(?:content|submissions?|materials?|posts?"
           r"|photos?|videos?|data|recordings?)"),
        _c(r"\b(?:your|user|member)s?\b.{0,30}\b(?:content|submissions?|materials?|posts?|works?)\b.{0,100}"
           r"\blicen[cs]e"),
        _c(r"\b(?:you|users?|members?)\s+(?:retain|keep|maintain|own|continue\s+to\s+own)\b.{0,40}"
           r"\b(?:ownership|rights?|title|copyright|intellectual\s+property)"),
        _c(r"\b(?:ownership|own|owns|title)\b.{0,60}\b(?:your|user|the)\s+(?:content|data|submissions?|feedback"
           r"|materials?|works?)"),
        _c(r"\bmoral\s+rights\b"),
        _c(r"(?<!non-)(?<!non\s)\b(?:perpetual|irrevocabl[ey]|sub-?licens(?:e|able|ed|ing)|royalty[\s-]*free"
           r"|fully[\s-]paid(?:[\s-]up)?)\b(?!\s+licen[cs]e\s+to\s+use\s+the\s+(?:service|software|site|app))"),
        _c(r"\b(?:grant|grants|give|gives)\b.{0,60}\b(?:right|permission|licen[cs]e)\s+to\s+(?:use|exploit|"
           r"access|copy|reproduce|display|publish|distribute)"),
        _c(r"\b(?:use|display|publish|promote|exploit|reproduce)\b(?!\s+names?\b).{0,30}\b(?:your|user|member)s?(?:\s+|-)"
           r"(?:generated\s+)?(?:content|submissions?|stuff|posts?|photos?|feedback|contributions?)", 0.7),
        _c(r"\b(?:own|owns|ownership|exclusive\s+property|property\s+of)\b", 0.5),
        _c(r"\b(?:creative\s+commons|public\s+domain|licen[cs]ed\s+under|open\s+licen[cs]e)\b"),
        _c(r"\blicen[cs]es?\b", 0.5),
        _c(r"\b(?:your|user|member)s?(?:\s+|-)(?:generated\s+)?(?:content|stuff|submissions?|contributions?)\b",
           0.3),
        _c(r"\bname,?\s+(?:and|or)\s+(?:likeness|image|voice)|\bright\s+of\s+publicity\b"),
        _c(r"\b(?:feedback|suggestions|ideas)\b.{0,120}\b(?:own|property|licen[cs]e|without\s+(?:any\s+)?"
           r"(?:compensation|obligation|restriction)|royalty)", 0.8),
        _c(r"\bassign(?:s|ment)?\b.{0,60}\b(?:rights?|title|interest|ownership)\b.{0,40}\b(?:content|feedback"
           r"|submissions?|works?)"),
        _c(r"\b(?:intellectual\s+property|copyright)\b.{0,80}\b(?:your|user)s?\s+(?:content|data|submissions?)",
           0.6),
        _c(r"\b(?:reproduce|modify|adapt|publish|distribute|create\s+derivative\s+works|display\s+publicly"
           r"|publicly\s+display)\b", 0.4),
    ),
    "access": (
        _c(rf"\b{_SHARE}\b.{{0,120}}\b{_RECIPIENT}\b", 1.0),
        _c(rf"\b{_RECIPIENT}\b(?:(?!\byou\b).){{0,80}}\b(?:may|can|will|to|only|also)\s+(?:\w+\s+){{0,2}}"
           rf"(?:access|receive|view|see|review|obtain|process|collect|utili[sz]e|use)\b", 1.0),
        # someone other than the user reaching into the user's account or data ("X may access your account")
        _c(r"(?<!you\s)(?<!You\s)\b(?:may|can|will|to)\s+(?:also\s+)?access\s+your\s+(?:\w+\s+){0,2}(?:account|data"
           r"|information|content|files|messages|e-?mails?|recordings|communications|contacts|calendar)", 1.0),
        _c(r"\b(?:law\s+enforcement|subpoenas?|court\s+orders?|search\s+warrants?|legal\s+process"
           r"|government(?:al)?\s+(?:requests?|agencies|authorities)|national\s+security)\b", 1.0),
        _c(r"\b(?:do|does|did|will|shall|would)\s*(?:not|n[’']t)\s+(?:\w+\s+){0,2}(?:sell|share|rent|disclose|trade)"
           r"|\bnever\s+(?:\w+\s+)?(?:sell|share|rent|disclose)", 1.0),
        _c(r"\b(?:merger|acquisition|acquired|bankruptcy|reorgani[sz]ation|divest\w*|sale\s+of\s+(?:all\s+or\s+)?"
           r"(?:some|part|substantially|our|the|company|its)|change\s+of\s+control)\b", 1.0),
        _c(r"\b(?:have|has|gain|get|given|with)\s+access\s+to\b|\b(?:accessible|viewable|visible)\s+(?:also\s+|only\s+)?"
           r"(?:by|to)\b", 0.6),
        _c(r"\b(?:comply\s+with\s+(?:the\s+|applicable\s+)?law|legally\s+required|required\s+by\s+law|legal\s+"
           r"(?:request|obligation|requirement)s?)\b", 0.5),
        _c(rf"\b{_SHARE}\b.{{0,60}}\b{_DATA}\b", 0.5),
        _c(r"\b(?:we|us|[A-Z]\w+)\s+(?:may|will|can|might|could|also|only|do|does)\s+(?:\w+\s+){0,2}(?:share|disclose|"
           r"reveal|release|sell|provide|transfer|give)\b", 0.5),
        _c(rf"\b{_RECIPIENT}\b", 0.4),
        _c(r"\b(?:publicly\s+(?:visible|available|accessible)|visible\s+to\s+(?:anyone|everyone|other|the\s+public))",
           0.8),
        # engaging a recipient: "we work with third parties", "we use service providers", "hosted on X"
        _c(rf"\b(?:work|works|working|partner|partners|contract|contracts)\s+with\s+(?:\w+\s+){{0,2}}{_RECIPIENT}"
           rf"|\b(?:use|uses|employ|employs|engage|engages|rely\s+on|make\s+use\s+of)\s+(?:\w+\s+){{0,2}}{_RECIPIENT}",
           0.6),
        _c(r"\bhosted\s+(?:on|by|with)\b", 0.6),
        # who cannot reach the data is also a statement about access
        _c(r"\b(?:no|not|never|without)\s+(?:\w+\s+){0,3}access\s+to\s+(?:your|the|any)\b", 0.6),
        # A veto: security against unauthorised access says nothing about who is given access.
        _c(r"\b(?:unauthori[sz]ed|unlawful|accidental)\s+(?:or\s+unlawful\s+)?(?:access|use|disclosure)", -0.6),
    ),
    "retention": (
        _c(r"(?<!you\s)(?<!You\s)\b(?:retain|retains|retained|retaining)\b(?!\s+(?:all\s+|full\s+|any\s+|the\s+|"
           r"your\s+|its\s+)*(?:ownership|rights?|copyright|title|control|responsib\w+|licen[cs]e))", 1.0),
        _c(r"\bretention\b", 1.0),
        _c(r"\b(?:(?:kept|stored|retained|available|remain)\s+(?:\w+\s+){0,2}(?:permanently|forever)|for\s+a\s+"
           r"limited\s+(?:time|period)|ephemeral|for\s+an?\s+(?:undefined|unlimited|indefinite)\s+(?:time|period)"
           r"|remain\s+in\s+our\s+(?:records|systems|archives|backups))\b", 1.0),
        _c(r"\b(?:keep|kept|stor\w+|retain\w*|remain\w*|available)\b.{0,60}\beven\s+after\b", 1.0),
        _c(r"\blonger\s+than\s+(?:we\s+need|is\s+)?(?:necessary|needed|required)|\blong\s+enough\s+to\b"
           r"|\bpermanently\s+(?:available|stored|kept|retained|archived)\b", 1.0),
        _c(r"\b(?:still|remain|continue)\w*\b.{0,80}\bafter\s+(?:you\s+)?(?:have\s+)?(?:deactivat|delet|clos|left|"
           r"terminat|cancel)\w*|\bafter\s+(?:you\s+)?(?:have\s+)?(?:deactivat|delet|clos|terminat|cancel)\w*.{0,80}"
           r"\b(?:still|remain|continue)\w*", 0.8),
        _c(r"\b(?:logs?|logged|log\s+data)\b", 0.4),
        _c(r"\b(?:anonymi[sz]\w+|pseudonymi[sz]\w+|de-?identif\w+)\b", 0.5),
        _c(r"\b(?:keep|keeps|kept|store|stores|stored|storing|hold|holds|held|preserve[sd]?|archived?|maintain(?:s|ed)?"
           r")\b.{0,120}\b(?:\d+|one|two|three|six|twelve|thirty|sixty|ninety)\s*(?:days?|weeks?|months?|years?)\b",
           1.0),
        _c(r"\b(?:indefinitely|in\s+perpetuity|as\s+long\s+as\s+(?:is\s+)?(?:necessary|needed|required|reasonably"
           r"|your\s+account|you\s+(?:have|maintain|use)|we\s+(?:need|have))|for\s+as\s+long\s+as|no\s+longer"
           r"\s+(?:than|needed|necessary|required)|retention\s+periods?)", 1.0),
        _c(r"(?<!can\s)(?<!may\s)\b(?:deleted|delete|deletes|deletion|erase[sd]?|erasure|purged?|destroy(?:ed)?|"
           r"removed|anonymi[sz]ed?|"
           r"de-?identif\w+)\b.{0,120}\b(?:after|within|once|when|upon|following|(?:\d+|thirty|sixty|ninety)\s+"
           r"(?:days?|months?|years?)|backups?|closed?|terminat\w+)", 0.8),
        _c(r"\b(?:after|upon|following|once)\b.{0,40}\b(?:account|membership)\b.{0,30}\b(?:clos\w+|delet\w+|"
           r"terminat\w+|cancel\w+)\b.{0,120}\b(?:keep|kept|store|stored|retain|remain|delete|deleted|copies)", 0.8),
        _c(r"\b(?:backups?|backup\s+copies|residual\s+copies|archives?|cached\s+copies)\b", 0.6),
        _c(r"\b(?:after|within|for|of)\s+(?:a\s+(?:period|maximum)\s+of\s+)?(?:up\s+to\s+)?(?:\d+|one|two|three|six|"
           r"twelve|thirty|sixty|ninety)\s*(?:\(\d+\)\s*)?(?:days?|weeks?|months?|years?)\b", 0.3),
        _c(r"\b(?:keep|keeps|kept|store|stores|stored|storing)\b.{0,40}\b(?:your|such|this|the|personal)\b", 0.4),
        _c(r"\b(?:remain|persist)s?\b.{0,40}\b(?:after|on\s+our\s+servers|in\s+our\s+(?:systems|records))", 0.6),
        # A veto: where data is stored (a region, a country) is not how long it is kept.
        _c(r"\bstored\s+(?:and\s+processed\s+)?(?:in|on)\s+(?:your\s+region|the\s+united|(?:\w+\s+)?countr(?:y|ies)"
           r"|servers?\s+(?:located\s+)?in)\b", -0.5),
    ),
    "biometrics": (
        _c(r"\b(?:biometrics?|facial\s+(?:recognition|geometry|features|scan|template)|face\s+(?:recognition|"
           r"geometry|scan|template|print|id|match\w*|verification)|faceprints?|voice\s*prints?|voice\s+recognition"
           r"|iris\s+scan|retina\w*|palm\s*prints?|liveness\s+(?:check|detection)|selfie)\b"),
        _c(r"(?<!browser\s)(?<!device\s)(?<!digital\s)\bfingerprints?\b(?!ing)(?!\s+(?:of\s+)?(?:your\s+)?"
           r"(?:browser|device))", 0.8),
        # A veto: biometrics that stay on the user's own device (unlocking a phone, passkeys) are not
        # the service's biometric processing.
        _c(r"\b(?:passkeys?|face\s*id|touch\s*id|unlock(?:s|ing)?\s+(?:your\s+|the\s+)?(?:device|phone|screen)"
           r"|(?:stored|stays?|remains?|kept)\s+(?:only\s+)?on\s+your\s+device)\b", -1.0),
    ),
    "ai_training": (
        _c(r"\b(?:train|trains|trained|training|fine-?tun\w+|improve|improving|develop|developing|build|building)"
           r"\b.{0,80}\b(?:models?|machine[\s-]+learning|artificial\s+intelligence|AI|algorithms?|LLMs?|neural)\b"),
        _c(r"\b(?:machine[\s-]+learning|artificial\s+intelligence|generative\s+AI|large\s+language\s+models?|LLMs?"
           r"|AI\s+(?:models?|features?|systems?|tools?|services?))\b", 0.6),
        _c(r"\b(?:models?|machine[\s-]+learning|artificial\s+intelligence|AI)\b.{0,80}\b(?:train|trains|trained|"
           r"training)\b"),
        _c(r"\b(?:annotat\w+|label(?:l)?ing)\b.{0,60}\b(?:recordings?|audio|video|images?|data)", 0.8),
        _c(r"\b(?:text|data)[\s-]+(?:and[\s-]+data[\s-]+)?mining\b|\bscrap(?:e|ing)\b", 0.5),
    ),
    "user_rights": (
        _c(r"(?<!reserve\sthe\s)(?<!reserves\sthe\s)\bright\s+(?:to|of)\s+(?:access|rectif\w+|correct\w*|erasure|delet\w+|object|restrict\w*|data"
           r"\s+portability|portability|withdraw|be\s+forgotten|know|opt|request|lodge|complain)"),
        _c(r"\b(?:you|users?)\s+(?:can|may|have\s+the\s+right\s+to|are\s+entitled\s+to)\s+(?:\w+\s+){0,3}"
           r"(?:access|correct|rectify|delete|erase|update|export|download|port|opt[\s-]*out|withdraw|"
           r"request\s+(?:access|deletion|a\s+copy|that)|unsubscribe|deactivate|close\s+your\s+account)\b"),
        _c(r"\bobject\s+to\b.{0,50}\b(?:processing|profiling|direct\s+marketing|use\s+of\s+your|your\s+(?:personal\s+)?"
           r"(?:data|information))"),
        _c(r"\bopt[\s-]*(?:out|in)\b|\bunsubscribe\b|\bwithdraw\w*\s+(?:your\s+)?consent\b|\bdo\s+not\s+sell\b", 0.8),
        _c(r"\b(?:your\s+(?:privacy\s+)?(?:rights|choices)|data\s+subject\s+(?:rights|requests?)|data\s+portability"
           r"|privacy\s+settings|manual\s+review|human\s+review)\b", 0.6),
        _c(r"\b(?:with|without)\s+your\s+(?:explicit\s+|prior\s+|express\s+)?consent\b", 0.4),
        _c(r"\byou\s+(?:also\s+)?(?:have|get|are\s+given)\s+(?:the\s+)?(?:option|choice|ability)\s+to\b", 0.6),
        _c(r"\b(?:export|download)\b.{0,40}\b(?:your\s+)?(?:data|content|information)\b", 0.6),
    ),
    "changes": (
        _c(r"\b(?:modify|modifies|change|changes|amend|amends|update|updates|revise|revises|replace)\b.{0,60}\b"
           r"(?:these|this|the|our)\s+(?:terms|agreement|policy|privacy\s+(?:policy|notice|statement)|conditions"
           r"|tos|terms\s+of\s+(?:service|use))"),
        _c(r"\b(?:changes|modifications|amendments|updates|revisions)\s+(?:to|of)\s+(?:these|this|the|our)\s+"
           r"(?:terms|agreement|policy|privacy|conditions)"),
        _c(r"\bcontinu\w+\s+(?:to\s+)?(?:use|access)\w*\b.{0,80}\b(?:after|following|constitutes|means|"
           r"acceptance|accept|agree)"),
        _c(r"\b(?:notify|inform|notice\s+to)\s+(?:you|users)\b.{0,60}\b(?:changes?|modifications?|updates?|"
           r"amendments?)", 0.8),
        _c(r"\b(?:at\s+any\s+time|from\s+time\s+to\s+time|sole\s+discretion)\b", 0.3),
    ),
    "disputes": (
        _c(r"\b(?:arbitrat\w+|class[\s-]+actions?|class[\s-]+wide|jury\s+trial|governing\s+law|governed\s+by|"
           r"jurisdiction|venue|indemnif\w+|hold\s+(?:us\s+)?harmless|limitation\s+of\s+liability|"
           r"injunctive\s+relief|small\s+claims|dispute\s+resolution|resolv\w+\s+(?:any\s+)?disputes?)\b"),
        _c(r"\bdisputes?\b", 0.6),
        _c(r"\b(?:liable|liability|liabilities|damages|warrant(?:y|ies)|disclaim\w*|as\s+is|as\s+available|"
           r"merchantability|fitness\s+for\s+a\s+particular|consequential|incidental|punitive)\b", 1.0),
        _c(r"\b(?:courts?\s+(?:of|in|located)|laws\s+of\s+(?:the\s+)?(?:state|england|ireland|germany|california|"
           r"new\s+york|delaware|france|switzerland|netherlands|sweden|japan))\b", 1.0),
        _c(r"\b(?:waive|waiver)\b.{0,60}\b(?:claims?|rights?)\b", 0.6),
    ),
}
