"""Unsafe requests: questions asking for a private person's data or for clear harm.

A heuristic, offline and fast (one linear regex pass per category, well under a
millisecond for a question). Like the injection guard it reads *requests*, not words:
a feature fires on a verb with its object ("make … a pipe bomb", "write a phishing
email", "kill … my neighbour", "the home address of Marit de Vries"), never on a word
alone, so "How do I kill a Python process?", "What is a phishing email?" and "What is
the address of your service centre?" pass.

Categories (reason ``unsafe.<category>``):

- ``privacy``: private data (home address, personal phone number or email, where
  someone lives, ID / passport / social security numbers, bank or card details,
  passwords, medical records, browsing history …) *of a person*: a full name
  ("Marit de Vries", "the customer Jan de Boer") or a private relation ("my ex's",
  "a customer's", "my neighbour's"). A company's or a service's contact details are
  not private ("your support phone number", "the address of the service centre");
- ``weapons``: making or getting bombs, explosives, untraceable or converted guns;
- ``poison``: making poisons, toxic gases, nerve agents; poisoning someone;
- ``theft``: stealing, burglary, breaking into a home, car or account, fraud;
- ``cyber``: phishing messages, malware, ransomware, hacking into someone's account;
- ``self_harm``: methods of suicide or self-injury;
- ``harm``: killing, hurting or kidnapping people;
- ``drugs``: making illegal drugs, or buying them;
- ``crime``: evading the police or detection, smuggling, trafficking, blackmail,
  scams, threats, forgery, fraud;
- ``tampering``: tampering with a water supply, food, medicines, medical devices,
  brakes or evidence; spreading a disease; fooling a breathalyser;
- ``harassment``: writing insults, slurs, bullying, threats or hate speech against
  people, glorifying violence; coercing someone into sex, gaslighting;
- ``misinformation``: writing persuasive or fake articles, posts or replies that say
  a claim the request itself states as false or denies an atrocity (a hoax, "never
  happened", rigged or stolen elections, vaccines causing autism), editing a text to
  mislead, posing as an expert; persuading people to eat or mix something harmful.

What it does not do (see ``bench/guards_unsafe.py`` for the measured recall): requests
for copyrighted text or sexual content, misinformation whose falsehood the request
does not state ("a persuasive essay arguing that fossil fuels are better"), or harm
phrased indirectly. A request split over turns, or a slow escalation, is the conversation's
(:mod:`ragline.guards._unsafe_turns`, reason ``unsafe.multi_turn``). Fictional
characters' "private" data ("Princess Leia's private email") is refused like a real
person's: a name is a name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from ragline.guards._base import Action, Finding, GuardContext, GuardStage, Verdict

#: every category the guard knows, in the order they are checked
UNSAFE_CATEGORIES: tuple[str, ...] = (
    "privacy",
    "weapons",
    "poison",
    "theft",
    "cyber",
    "self_harm",
    "harm",
    "drugs",
    "crime",
    "tampering",
    "harassment",
    "misinformation",
)

_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
#: the rest of a clause: a feature's parts never span a sentence end
_NEAR = r"[^.?!\n]{0,50}?"

# --- who: a private person -----------------------------------------------------------
_RELATION = (
    r"(?:ex[- ]?)?(?:wife|husband|spouse|partner|girlfriend|boyfriend|ex|neighbou?r|"
    r"co-?worker|colleague|boss|manager|employee|employer|cleaner|gardener|nanny|maid|"
    r"servant|student|pupil|teacher|tutor|mentee|mentor|customer|client|patient|tenant|"
    r"landlord|landlady|friend|date|match|classmate|roommate|flatmate|doctor|nurse|"
    r"therapist|crush|sister|brother|mother|father|mom|mum|dad|son|daughter|cousin|aunt|"
    r"uncle|nephew|niece|grandmother|grandfather|stepmother|stepfather|in-law|lover|fianc[eé]e?|"
    r"person|man|woman|girl|boy|guy|lady|kid|child|teenager|user|member|stranger|"
    r"officer|coach|driver|rider|owner|buyer|seller|subscriber|contact|someone|somebody)"
)
_DETERMINER = (
    r"(?:my|our|his|her|their|a|an|the|this|that|some|another|other|one of (?:my|our|your) )"
)
#: a person named: capitalised words (particles such as "de", "van" between them)
_NAME = (
    r"(?-i:(?!(?:The|A|An|My|Your|Our|This|That|What|Where|How|Who|Tell|Give|Find|Is|Can)\b)"
    r"[A-Z][a-z'\u00c0-\u024f-]+(?:\s+(?:(?:de|van|von|der|den|da|di|du|le|la|del|bin|al|ten|ter)"
    r"\s+)*[A-Z][a-z'\u00c0-\u024f-]+)+)"
)
#: words that make a capitalised phrase an organisation, a place or a service, not a person
_ORG = re.compile(
    r"\b(?:support|service|services|centre|center|team|inc|ltd|llc|gmbh|bv|office|"
    r"department|dept|store|shop|company|corp|corporation|bank|hospital|clinic|police|"
    r"house|hall|school|university|college|council|ministry|government|embassy|"
    r"airport|station|museum|library|bikes?|motors|group|foundation|agency|hotel|"
    r"restaurant|cafe|church|park|street|road|avenue|square|city|county|state|republic|"
    r"kingdom|nhs|fbi|cia|un|eu|helpdesk|desk|headquarters|hq|sales|billing|press)\b",
    re.IGNORECASE,
)
_PERSON = (
    rf"(?:{_DETERMINER}\s*(?:[a-z-]+\s+){{0,2}}?{_RELATION}(?!\s+(?:service|support|care|"
    rf"centre|center|portal|account|number|area))(?:\s*,\s*(?-i:[A-Z][a-z]+)|\s+{_NAME})?"
    rf"|{_NAME}|someone|somebody|anyone|him|her|them|this person|that person|"
    rf"a private (?:person|individual|citizen))"
)
#: data that is private when it is a person's
_PRIVATE_DATA = (
    r"(?:home|house|residential|private|personal|current|exact|street)\s+address(?:es)?"
    r"|(?:home|personal|private|mobile|cell|cellphone|cell phone|direct|phone|telephone|"
    r"whatsapp)\s+(?:phone\s+)?numbers?"
    r"|phone numbers?|telephone numbers?|(?:e-?mail|postal) address(?:es)?|address(?:es)?"
    r"|(?:personal|private)\s+e-?mails?(?:\s+address(?:es)?)?"
    r"|social security numbers?|ssns?|national (?:id|insurance) numbers?|passport numbers?|"
    r"(?:driver'?s?|driving) licen[cs]e numbers?|tax (?:id|records|returns)|"
    r"bank (?:account )?(?:details|numbers?|statements?)|credit card (?:details|numbers?)|"
    r"(?:credit|debit|credit/debit) card (?:details|numbers?)|"
    r"card details|pin(?: code| number)?|passwords?|log-?in(?: details)?|credentials|"
    r"medical (?:records|history)|health records|mental health history|"
    r"(?:internet |web )?browsing history|search history|location|gps location|"
    r"whereabouts|fingerprints?|dna|date of birth|birth certificate|salary|"
    r"immigration status|criminal (?:record|history)|ip address"
)
_PRIVACY = re.compile(
    # "Marit de Vries's home address", "my ex's phone number"
    rf"(?P<who>{_PERSON})(?:'s?|’s?)\s+(?:[a-z-]+\s+){{0,2}}?(?P<what>{_PRIVATE_DATA})\b"
    # "the home address of Marit de Vries", "the phone number for the customer Jan"
    rf"|\b(?P<what2>{_PRIVATE_DATA})(?:\s+and\s+(?:[a-z-]+\s+){{0,2}}?(?:{_PRIVATE_DATA}))?"
    rf"\s+(?:of|for|belonging to)\s+(?P<who2>{_PERSON})"
    # "where does Marit de Vries live", "find out where my ex lives"
    rf"|\bwhere\s+(?:does|do|did|is)?\s*(?P<who3>{_PERSON})\s+(?:live|lives|living|stay|"
    rf"stays|reside|resides|sleeps?)\b"
    rf"|\b(?:dox|doxx|stalk|track down|spy on)\s+(?P<who4>{_PERSON})",
    re.IGNORECASE,
)

# --- harm: a verb with its object ------------------------------------------------------
_HOW = r"(?:how|ways?|steps|instructions|guide|tutorial|recipe|method|best way|easiest way)"
_MAKE = (
    r"(?:mak(?:e|es|ing)|build\w*|assembl\w*|construct\w*|creat(?:e|es|ing)|manufactur\w*|"
    r"produc(?:e|es|ing|tion of)|craft(?:ing)?|3d[- ]print\w*|synthesi[sz]\w*|cook\w*|"
    r"brew\w*|mix\w*|prepar\w*|extract\w*|obtain\w*|acquir\w*|buy\w*|get hold of|"
    r"convert\w*)"
)
_TARGET = (
    r"(?:someone|somebody|(?:lots of |many |as many |the most |innocent |random |other )?"
    r"people|a person|persons|him|her|them|a human(?: being)?|humans|an? (?:old |young )?"
    r"(?:woman|man|girl|boy|child|kid|toddler|baby|infant|person)|(?:my|his|her) (?:entire |"
    r"whole )?family|a village|my (?:[a-z-]+\s+)?"
    rf"{_RELATION}s?|(?:his|her|their|your) {_RELATION}s?|a (?:child|kid|baby|cop|"
    r"police officer|politician|president)|the (?:president|prime minister|senator|mayor)"
    r"|(?-i:[A-Z][a-z]+ [A-Z][a-z]+))"
)
_HARM_PATTERNS: dict[str, str] = {
    "weapons": (
        rf"\b{_MAKE}\b{_NEAR}\b(?:(?:pipe |nail |car |letter |dirty |homemade |home-made )?"
        r"bombs?|explosives?|explosive devices?|ieds?|grenades?|molotov(?: cocktails?)?|"
        r"napalm|detonators?|thermite|c-?4|tnt|semtex|ghost guns?|untraceable (?:guns?|"
        r"firearms?|weapons?)|silencers?|suppressors?|machine guns?|"
        r"(?:chemical|biological|nuclear|radiological) weapons?|bio-?weapons?)\b"
        r"|\bblow up (?:a|the|my|his|her|their|someone'?s?) (?:house|home|building|car|"
        r"school|bridge|plane|train|office|church|mosque|synagogue|stadium|bus)\b"
        r"|\b(?:convert|modify)\b.{0,40}\b(?:to|into) (?:fully? )?auto(?:matic)?\b"
        r"|\bbuy (?:a )?(?:guns?|firearms?|weapons?)\b.{0,40}\b(?:illegally|without (?:a )?"
        r"(?:background check|licen[cs]e))"
    ),
    "poison": (
        rf"\b{_MAKE}\b{_NEAR}\b(?:poisons?|toxic (?:gas|gases|fumes)|poisonous gas|"
        r"nerve (?:agents?|gas)|sarin|ricin|vx|tabun|soman|chlorine gas|mustard gas|"
        r"phosgene|cyanide|arsenic|anthrax|botulinum|dimethylmercury|deadly (?:gas|toxin))\b"
        rf"|\bpoison(?:ing)? {_TARGET}"
        r"|\bhousehold (?:chemicals|products|cleaners)\b.{0,60}\b(?:toxic|poison|deadly|"
        r"lethal|gas|kill)"
        r"|\b(?:undetectable|untraceable) poisons?\b"
        r"|\blethal dose\b.{0,40}\b(?:kill|give|someone|him|her|my)\b"
    ),
    "theft": (
        r"\b(?:steal|stealing|shoplift|shoplifting|pickpocket|rob|robbing|burgle|"
        r"burglari[sz]e|hotwire|hot-wire|carjack)\b(?!\s+(?:the show|a base|the spotlight|"
        r"the limelight|a kiss|a glance|a look|someone'?s heart|(?:my|your|her|his) heart|"
        r"the scene|second base|bases|ideas|the lead))"
        r"|\bbreak(?:ing)? into (?:a|an|the|my|his|her|their|someone'?s?|my neighbou?r'?s?)"
        r" ?(?:[a-z-]+ )?(?:house|home|car|apartment|flat|building|store|shop|safe|account|"
        r"atm|vault|office|garage)\b"
        r"|\b(?:start|drive|take) (?:a|the|someone'?s?) (?:car|vehicle|bike|e-?bike|"
        r"motorcycle)\b.{0,30}\bwithout (?:the |a |its )?keys?\b"
        r"|\bget away with (?:stealing|theft|robbery|shoplifting|fraud|burglary)\b"
        r"|\b(?:commit|do|carry out|get away with) (?:credit card |insurance |tax |bank |"
        r"identity )?(?:fraud|identity theft)\b"
        r"|\b(?:disable|remove|block|jam|defeat|turn off|switch off|get rid of)\b (?:the |its |a )?"
        r"(?:gps )?(?:tracker|tracking(?: device)?)\b[^.?!\n]{0,40}?\b(?:stolen|so (?:that )?"
        r"(?:the owner|the police|the cops|they|he|she|nobody|no one) (?:can'?t|cannot|"
        r"won'?t|will not)|without the owner)"
        r"|\b(?:launder|laundering) (?:money|cash|funds)\b|\bcounterfeit (?:money|bills|notes|"
        r"currency)\b"
    ),
    "cyber": (
        r"\b(?:write|create|draft|craft|compose|generate|design|make|send|code|build)\b"
        r"[^.?!\n]{0,40}?\bphishing (?:e-?mails?|messages?|sites?|pages?|websites?|texts?|"
        r"sms|campaigns?|kits?|links?)\b"
        r"|\b(?:write|create|code|build|develop|make|generate|program|deploy|spread)\b"
        r"[^.?!\n]{0,40}?\b(?:malware|ransomware|keyloggers?|key loggers?|trojans?|"
        r"computer virus(?:es)?|worms?|spyware|stalkerware|botnets?|rootkits?|backdoors?|"
        r"info-?stealers?|credential stealers?)\b"
        r"|\bhack(?:ing)? into (?:a|an|the|my|his|her|their|someone'?s?|people'?s?|my "
        r"(?:[a-z-]+ )?[a-z]+'?s?)\b"
        rf"|\bhack {_TARGET}"
        r"|\b(?:ddos|dos attack)\b.{0,40}\b(?:website|server|site|network)\b"
        r"|\bcrack (?:someone'?s?|a|my (?:[a-z-]+ )?[a-z]+'?s?|his|her|their) (?:wi-?fi )?"
        r"passwords?\b"
        r"|\b(?:steal|harvest|phish) (?:people'?s?|someone'?s?|their|user'?s?)? ?"
        r"(?:credentials|passwords|login|bank details|credit card)"
    ),
    "self_harm": (
        r"\b(?:kill|hurt|harm|cut|burn|starve|hang|poison|shoot|overdose) myself\b"
        r"|\b(?:commit|committing) suicide\b|\bend (?:my|my own) life\b"
        r"|\bsuicide (?:methods?|notes?|plan)\b|\b(?:methods?|ways?) (?:of|to|for) "
        r"(?:suicide|self[- ]harm)\b|\bhow (?:to|do i|can i|should i) self[- ]harm\b"
        r"|\b(?:best|easiest|quickest|painless|fastest|surest) way to (?:die|end it)\b"
        r"|\bhow (?:many|much)\b.{0,40}\b(?:pills|tablets|paracetamol|tylenol|acetaminophen|"
        r"insulin|sleeping pills)\b.{0,40}\b(?:die|kill|overdose|lethal|fatal)\b"
        r"|\b(?:sever|slit|cut) my (?:own )?(?:wrists?|cervical artery|carotid artery|"
        r"throat|veins?)\b"
    ),
    "harm": (
        r"\b(?:kill|murder|stab|strangle|choke|shoot|torture|kidnap|abduct|assassinate|"
        r"beat up|hurt|maim|throttle|execute|drown|smother|eliminate|take out|attack|"
        r"suffocate|run over|disfigure|mutilate|overpower|hit|punch|kick|butcher|crush|"
        r"annihilate|do away with|wipe out|eradicate|exterminate|slaughter|massacre|"
        r"decapitate|behead|dismember|lynch|rape|assault|molest|beat|bully|stalk|"
        rf"blackmail|threaten|poison)\b {_TARGET}(?!\s+(?:for|to|on|at|with)\b)"
        r"|\b(?:bomb|bombing|burn down|set fire to|shoot up|attack|blow up) (?:a|an|the|my|"
        r"his|her|their|our) (?:[a-z-]+ )?(?:school|hospital|concert|army base|base|"
        r"building|church|mosque|synagogue|temple|office|house|home|stadium|festival|"
        r"crowd|village|city|station|airport|plane|train|bus|embassy)\b"
        r"|\bset (?:a|an|the|my|his|her|their|someone'?s?) (?:[a-z-]+ )?(?:school|hospital|"
        r"building|house|home|car|church|office|person) on fire\b"
        r"|\bmake (?:someone'?s?|his|her|their) (?:car|house|phone) explode\b"
        r"|\b(?:cut off|rip off|ripping off|saw) (?:a|someone'?s?|his|her) (?:human'?s? )?"
        r"(?:head|arms?|legs?|body)\b|\b(?:crush|break) (?:a|someone'?s?) (?:human )?"
        r"(?:spine|neck|skull)\b|\bdispose of (?:my|a|the) (?:dead )?(?:baby|child|"
        r"wife|husband|body)\b"
        r"|\bcommit (?:a )?(?:violent )?(?:assault|murder|genocide|homicide|massacre)\b"
        r"|\b(?:terminate|end|take) (?:my|his|her|their|someone'?s?) (?:[a-z-]+'?s? )?life\b"
        r"|\b(?:smash|bash|crack) (?:in )?(?:someone'?s?|his|her|their|my [a-z-]+'?s?) "
        r"(?:skull|head|face)\b"
        r"|\b(?:people|someone|a person) to (?:shoot|kill|stab|attack|hurt)\b"
        r"|\b(?:hide|dispose of|get rid of) (?:a|the) (?:dead )?body\b"
        r"|\b(?:describe|write|depict)\b[^.?!\n]{0,60}?\b(?:tortur\w*|flay\w*|"
        r"dismember\w*|mutilat\w*|murder\w*|killed|beheaded|quartered|burned alive)\b"
        r"[^.?!\n]{0,40}?\bin (?:graphic|gory|vivid|explicit) detail\b"
        r"|\b(?:get away with) (?:murder|killing (?:someone|him|her|my))\b(?! in\b)"
        r"|\b(?:mass shooting|school shooting|terrorist attack)\b.{0,40}\b(?:plan|carry out|"
        r"commit|organi[sz]e)\b|\b(?:plan|carry out|commit|organi[sz]e) (?:a )?(?:mass "
        r"shooting|school shooting|terrorist attack)\b"
    ),
    "drugs": (
        r"\b(?:make|making|cook|cooking|synthesi[sz]e|synthesis of|produce|manufacture|"
        r"extract)\b[^.?!\n]{0,40}?\b(?:meth|methamphetamine|crystal meth|cocaine|crack "
        r"cocaine|heroin|fentanyl|lsd|mdma|ecstasy|ghb|dmt|pcp|ketamine)\b"
        r"|\b(?:buy|get|find|score|order|purchase)\b (?:some )?(?:weed|cocaine|coke|heroin|"
        r"meth|ecstasy(?: pills)?|mdma|molly|lsd|acid tabs|fentanyl|crack|illegal drugs|"
        r"drugs|shrooms)\b(?! (?:of|can|cans|zero|cola)\b)"
        r"|\b(?:smuggle|traffic|sell|deal)\b (?:some )?(?:drugs|cocaine|heroin|meth|"
        r"fentanyl|weed)\b"
    ),
    "crime": (
        r"\bwithout (?:getting |being )?(?:caught|detected|noticed by (?:the )?police)\b"
        r"|\b(?:evad(?:e|es|ing)|avoid(?:ing)?|escap(?:e|ing)) (?:law enforcement|the police|"
        r"the cops|detection|tracing|customs|border control|taxes|paying taxes)\b"
        r"|\bsmuggl\w*\b|\bhuman trafficking\b|\btraffick(?:ing)? (?:people|humans|women|"
        r"children|girls|organs)\b|\bblackmail\w*\b|\bextort\w*\b|\bswatting\b"
        r"|\b(?:card )?skimm(?:ing|er) device\b|\b(?:romance|tech(?:nical)? support|"
        r"phone|investment|ponzi) scam\b|\b(?:write|compose|draft|send|make)\b"
        r"[^.?!\n]{0,30}?\b(?:death|bomb|anonymous) threats?\b"
        r"|\bforge (?:documents|a passport|a signature|an id|ids|checks|cheques)\b"
        r"|\bcounterfeit (?:goods|designer|money|bills|notes|currency|documents)\b"
        r"|\b(?:identity theft|insurance fraud|tax fraud|tax evasion|money laundering)\b"
    ),
}
#: what a request to write something starts with
_WRITE = (
    r"\b(?:write|compose|draft|create|generate|produce|craft|make|give me|come up with|"
    r"post|send|suggest|add|reply)\b"
)
#: a text meant to persuade, or to pass off as true
_PERSUADE = (
    r"(?:persuasive|convincing|defamatory|fake|false|misleading|propaganda|viral|"
    r"anonymous)"
)
_PIECE = (
    r"(?:article|blog(?: post)?|post|tweets?|twitter thread|thread|reply|essay|op-?ed|"
    r"news (?:story|article|report)|story|press release|advertisement|ad|speech|"
    r"message|e-?mail|letter|note|comment|review|edits?|script|social media post)"
)
#: what a claim that is false or denies an atrocity says
_FALSE_CLAIM = (
    r"(?:hoax|never (?:happened|took place|existed)|didn'?t happen|a myth|propaganda myth|"
    r"(?:was |were |is |are )?(?:faked|fake|staged|rigged|stolen)|fraud (?:flipped|"
    r"changed|decided)|flip(?:ped)? the (?:result|election)|cover-?up|"
    r"grossly inflated|(?:intentionally|deliberately) (?:leaked|released|prolonged|"
    r"created|spread)|deserved (?:to die|it)|cause[sd]? autism|(?:are|is) good for you|"
    r"do(?:es)? not cause cancer|secretly (?:joined|biased|planned|controls?)|lied in|"
    r"complicit in|stuffing ballot boxes|were rigged|is a lie|was a lie|conspiracy|"
    r"fabricated|made up|exaggerated|inflated|not real|(?:does|do)n'?t exist|inside job|"
    r"false flag|chemtrails|flat earth|microchips?|(?:cures?|cured) (?:cancer|covid|autism)|"
    r"vaccines? (?:cause|are dangerous|contain|kill)|(?:was|were) (?:justified|beneficial|"
    r"peaceful|democratic|defensive)|(?:more|far more) likely to be (?:terrorists|criminals)|"
    r"hardly pay|(?:is|are|was|were) (?:actually |really )?(?:responsible|to blame) for|"
    r"(?:was|were) (?:a |an )?(?:hoax|lie|myth|fraud))"
)
_MORE_HARM: dict[str, str] = {
    "tampering": (
        r"\btamper(?:ing)? with (?:a |an |the |someone'?s? |his |her |their |other people'?s? )?"
        r"(?:[a-z-]+'?s? ){0,3}?(?:water|food|medicines?|medications?|drugs?|products?|"
        r"evidence|ballots?|voting|elections?|meters?|smoke (?:alarms?|detectors?)|"
        r"pacemakers?|(?:medical|life-saving) (?:devices?|equipment)|brakes?|baby|jury|"
        r"witness(?:es)?|packag\w*|supply|supplies|operation of)\b"
        r"|\b(?:contaminat\w*|poison\w*|introduce \w+ (?:in|into|to)) (?:a |the |an )?"
        r"(?:city'?s? |town'?s? |public |municipal )?(?:water supply|water supplies|"
        r"reservoir|food supply|baby food)\b"
        r"|\bspread (?:a|the|this) (?:virus|disease|pathogen|infection|bioweapon)\b"
        r"[^.?!\n]{0,40}?\b(?:in|among|through|on|across) (?:a|the|crowded|public)\b"
        r"|\b(?:fool|beat|cheat|trick) (?:a |the )?(?:breathalyzer|breathalyser|drug test|"
        r"polygraph)\b"
        r"|\b(?:cut|sabotage|disable) (?:someone'?s?|his|her|their|my [a-z-]+'?s?) "
        r"(?:brake(?: line)?s?|brake cables?|smoke (?:alarm|detector)s?|pacemaker)\b"
        r"|\b(?:compromise|sabotage)\b[^.?!\n]{0,40}?\b(?:laborator(?:y|ies)|lab|"
        r"power (?:grid|plant)|water treatment|pipeline|reactor)\b"
        r"|\b(?:how (?:do|can|could|would|should) (?:i|we|you)|how to|ways? to|steps to|help me|"
        r"show me|tell me how|explain how|instructions (?:for|to|on))\b[^.?!\n]{0,30}?"
        r"\b(?:remove|disable|bypass|override|derestrict|unlock|hack|get rid of|tamper with|"
        r"defeat|trick)\b (?:the |my |its |a )?(?:[a-z-]+ )?speed (?:limiter|limit|"
        r"limitation|restriction|governor|cap)\b"
        r"|\bunlawfully tap into\b|\bmore (?:deadly|lethal|contagious) and "
        r"(?:transmissible|contagious)\b"
    ),
    "harassment": (
        rf"{_WRITE}[^.?!\n]{{0,60}}?\b(?:insult\w*|bull(?:y|ies|ying)|harass\w*|"
        r"humiliat\w*|ridicul\w*|demean\w*|intimidat\w*|racist|homophobic|transphobic|"
        r"sexist|misogynistic|antisemitic|xenophobic|(?:racial |ethnic )?slurs?|hate speech|"
        r"hateful|inciting (?:hatred|violence)|incites? (?:hatred|violence)|dehumaniz\w*|"
        r"glorif(?:y|ies|ying)|romantici[sz]\w*|promotes? or normali[sz]\w*|"
        r"normali[sz](?:e|es|ing) (?:predatory|stalking|abuse|sexual)|threatening|"
        r"mocks? and trivializ\w*|mocking)\b"
        r"|\b(?:gaslight|psychologically manipulate|emotionally manipulate)\b"
        r"|\b(?:coerce|pressur(?:e|ing)|blackmail|force|guilt-?trip)\b[^.?!\n]{0,40}?"
        r"\binto\b[^.?!\n]{0,30}?\b(?:sex|sexual|sharing (?:explicit|intimate|nude)|"
        r"sending (?:explicit|intimate|nude)|explicit|intimate images|nudes)\b"
        r"|\b(?:silence|intimidate|get rid of) (?:the )?whistle-?blowers?\b"
        r"|\bconsent is (?:completely |totally )?(?:unnecessary|optional|not needed)\b"
        r"|\b(?:people|those) with disabilities are a burden\b"
        r"|\b(?:discrimination|racism|segregation|sexism) is (?:good|beneficial|justified)\b"
        r"|\brace-based discrimination is beneficial\b"
    ),
    "misinformation": (
        rf"{_WRITE}[^.?!\n]{{0,40}}?\b{_PERSUADE}\b[^.?!\n]{{0,30}}?\b{_PIECE}\b"
        rf"[^.?!\n]{{0,120}}?\b{_FALSE_CLAIM}"
        rf"|{_WRITE}[^.?!\n]{{0,40}}?\b{_PIECE}\b[^.?!\n]{{0,20}}?\b(?:suggesting|claiming|"
        rf"arguing|proving|saying|about how|explaining|showing|insisting)\b[^.?!\n]{{0,120}}?"
        rf"\b{_FALSE_CLAIM}"
        r"|\b(?:persuade|convince) (?:the )?(?:readers|editors|voters|people|the public|"
        r"the op|everyone|others)\b[^.?!\n]{0,20}?\bthat\b[^.?!\n]{0,120}?"
        rf"\b{_FALSE_CLAIM}"
        r"|\b(?:make|suggest) (?:small |minimal |subtle )?(?:edits|changes|modifications)\b"
        r"[^.?!\n]{0,60}?\bto (?:persuade|convince|suggest|mislead)\b"
        r"|\b(?:defamatory|disinformation|fake news|propaganda) (?:article|post|story|"
        r"campaign|piece|tweets?|thread|message)\b"
        r"|\bposing as (?:an? )?(?:expert|doctor|scientist|official|journalist)\b"
        r"|\b(?:make|convince|get) (?:people|readers|the public|everyone) (?:to )?believe\b"
        rf"[^.?!\n]{{0,80}}?\b{_FALSE_CLAIM}"
        r"|\bconvince (?:people|parents|children|kids|readers) to (?:make|mix|eat|feed|drink|"
        r"give|stop (?:vaccinat|taking))\w*"
        r"|\b(?:persuad|convinc|encourag)\w* (?:parents|people|children|kids) to "
        r"(?:feed|eat|drink|give|mix)\b"
        r"|\bencourag\w* (?:anorexia|bulimia|self-harm|eating disorders)\b"
        r"|\bdiscourages? (?:wearing masks|vaccination|getting vaccinated)\b"
    ),
}
_HARM_PATTERNS.update(_MORE_HARM)
#: more shapes of the first categories' requests (attack code, warfare agents, precursors)
_MORE_SHAPES: dict[str, str] = {
    "cyber": (
        r"|\b(?:evade|bypass|hide from|avoid) (?:the )?(?:antivirus|anti-virus|av|edr|"
        r"endpoint (?:detection|protection)|state-of-the-art analysis)\b"
        r"|\b(?:sql injection|xss|command injection) (?:attack|payload)s?\b"
        r"[^.?!\n]{0,40}?\b(?:on|against|to (?:dump|enumerate|extract|obtain|exfiltrat\w*|"
        r"steal))\b|\binjection payload\b|\breverse shell\b"
        r"|\b(?:syn|udp|http) flood (?:attack|script|code)\b|\bdns amplification\b"
        r"|\bddos (?:code|script|attack|tool)\b|\b(?:buy|purchase) zero-?day\b"
        r"|\b(?:using|use|exploit) the [^.?!\n]{0,40}?\bvulnerability\b[^.?!\n]{0,40}?"
        r"\b(?:to|on|against)\b|\b(?:gain|get) unauthori[sz]ed access\b"
        r"|\bmalware link\b|\bpassword hashes from\b"
        r"|\btake control of (?:a|the|someone'?s?) (?:system|server|computer|machine)\b"
        r"|\b(?:disable|bypass) (?:the )?geo-?fencing\b"
        r"|\bcorrupts? the hard drive\b|\bdata exfiltration\b"
        r"|\b(?:write|create|generate|develop|give|provide)\b[^.?!\n]{0,20}?\b(?:code|a script|"
        r"a program|a tool|an? exploit|exploit code)\b[^.?!\n]{0,40}?\b(?:exploit\w*|"
        r"brute-?forc\w*|flood\w*|crack\w*|keylog\w*|encrypts? (?:all|every) (?:the )?"
        r"files|credential stuffing|privilege escalation|buffer overflow|steal\w*)\b"
        r"|\bbrute-?forc\w* (?:someone'?s?|a|the|their) (?:password|login|account)s?\b"
        r"|\b(?:bypass|crack|break|defeat) (?:someone'?s?|his|her|their|other people'?s?|"
        r"a user'?s?) (?:authentication|login|two-factor|2fa|account security)\b"
        r"|\bhack(?:ing)? (?:a|an|the|into a|into the) (?:[a-z-]+ )?(?:drone|car|router|"
        r"camera|server|website|network|phone|atm|smart \w+|database|system)\b"
        r"|\b(?:persuad|convinc|trick)\w*\b[^.?!\n]{0,40}?\bto click (?:on )?(?:a|the|this|"
        r"an|my) (?:[a-z-]+ )?(?:link|attachment)\b|\bexploit (?:for|against) (?:cve|a|the)\b"
        r"|\bransom note\b|\b(?:rootkit|credential stuffing|privilege escalation exploit)\b"
    ),
    "weapons": (
        r"|\b(?:illegally|unlawfully) (?:buy|purchase|obtain|acquire|get)\b[^.?!\n]{0,30}?"
        r"\b(?:guns?|handguns?|firearms?|weapons?|rifles?)\b"
        r"|\b(?:chemical|biological) warfare agents?\b"
        r"|\bchemical weapons? (?:could|can) be made\b"
        r"|\b(?:synthesi[sz]|manufactur|produc|cultur|weaponi[sz]|grow|mak|creat|spread|"
        r"releas|disperse?)\w*\b[^.?!\n]{0,40}?\b(?:anthrax|smallpox|ebola|plague|"
        r"botulinum|nerve agents?|mustard gas|bioweapons?|biological weapons?|"
        r"(?:deadly|lethal|dangerous) (?:pathogens?|viruses|virus|bacteria|toxins?))\b"
        r"|\bweaponi[sz]\w* (?:a |the |an )?(?:[a-z-]+ )?(?:virus|pathogen|anthrax|bacteri\w*|"
        r"disease|toxin|chemical|drone|plague)\b"
        r"|\benhance\w* (?:the )?(?:transmissibility|lethality|virulence)\b"
        r"|\bgain[- ]of[- ]function\b[^.?!\n]{0,40}?\b(?:how|steps|make)\b"
    ),
    "poison": (
        rf"|\b{_MAKE}\b{_NEAR}\b(?:tetrodotoxin|strychnine|parathion|abrin|aconite|"
        r"oleander|hemlock|tabun|novichok|batrachotoxin)\b"
        r"|\bextract\w*\b[^.?!\n]{0,30}?\b(?:strychnine|ricin|abrin|tetrodotoxin)\b"
    ),
    "drugs": (
        r"|\b(?:fentanyl|meth|methamphetamine|mdma|heroin|cocaine|lsd|nitazene|"
        r"isotonitazene) (?:synthesis|production|precursors?)\b"
        r"|\bproduction of (?:mdma|meth|methamphetamine|fentanyl|heroin|cocaine|lsd)\b"
        r"|\b(?:untraceabl[ey]|without (?:a licen[cs]e|regulatory oversight)) "
        r"[^.?!\n]{0,40}?\b(?:purchas\w*|buy\w*|acquir\w*|obtain\w*)\b"
        r"|\b(?:purchas\w*|buy\w*|acquir\w*|obtain\w*)\b[^.?!\n]{0,60}?\bwithout "
        r"(?:a licen[cs]e|regulatory oversight)\b"
    ),
    "crime": (
        r"|\bwithout detection\b|\bhold(?:ing)? (?:a|the) [^.?!\n]{0,20}?"
        r"(?:flight|plane|bus|train) hostage\b"
        r"|\bscam (?:someone|people|the elderly|them|him|her)\b"
        r"|\b(?:how to|ways? to|steps to|instructions (?:for|to|on)|guide (?:to|on)|"
        r"plan (?:for|to))\b[^.?!\n]{0,30}?\b(?:illegally|unlawfully)\b"
        r"|\b(?:convince|persuade|trick) (?:someone|people|them|him|her)\b[^.?!\n]{0,30}?"
        r"\b(?:to )?(?:share|give|send|hand over) (?:their|his|her) (?:social security|"
        r"ssn|bank|passwords?|credit card|pin)\b"
    ),
}
for _category, _shapes in _MORE_SHAPES.items():
    _HARM_PATTERNS[_category] += _shapes
_HARM: dict[str, re.Pattern[str]] = {
    k: re.compile(v, re.IGNORECASE) for k, v in _HARM_PATTERNS.items()
}


def _normal(text: str) -> str:
    """``text`` with invisible characters removed and NFKC applied (case kept: names)."""
    return unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))


#: data that public figures have public: private only for someone of the asker's circle
_PUBLIC_OF_NAMED = re.compile(
    r"date of birth|salary|location|whereabouts|criminal (?:record|history)|"
    r"immigration status|address(?:es)?"
)


#: what every privacy request names: private data, living somewhere, doxxing (a cheap
#: pass first: the full pattern tries a person at every position, ~10x the cost)
_PRIVACY_HINT = re.compile(
    rf"\b(?:{_PRIVATE_DATA})\b|\bliv(?:e|es|ing)\b|\bstay|\breside|\bsleep"
    r"|\b(?:dox|doxx|stalk|track down|spy on)\b",
    re.IGNORECASE,
)


def _privacy_match(text: str) -> re.Match[str] | None:
    if not _PRIVACY_HINT.search(text):
        return None
    for m in _PRIVACY.finditer(text):
        who = next(
            (m.group(g) for g in ("who", "who2", "who3", "who4") if m.group(g) is not None), ""
        )
        if who and _ORG.search(who):
            continue  # "Helio Support's phone number", "the address of the White House"
        what = next((m.group(g) for g in ("what", "what2") if m.group(g) is not None), "")
        named = who[:1].isupper() and not re.match(_DETERMINER + r"\s", who, re.IGNORECASE)
        if named and _PUBLIC_OF_NAMED.fullmatch(what.lower()):
            continue  # a named (often public) person's birthday is no secret
        return m
    return None


#: a question about a story, a game or the past ("… in Call of Duty", "How did they rob
#: the casino in Ocean's 11?", "Why did …"): not a request to do it
_FICTION_AFTER = re.compile(r"[^.?!\n]{0,40}?\bin (?-i:[A-Z0-9])")
_PAST = re.compile(
    r"^\W*(?:how|why|when|where|what|who|which)\b[^.?!\n]{0,30}?\b(?:did|was|were|had)\b",
    re.IGNORECASE,
)
#: "What is identity theft?": a definition, unless it asks how
_DEFINITION = re.compile(
    r"^\W*(?:what\s+is|what's|what\s+are|what\s+does|define|definition\s+of|meaning\s+of|"
    r"explain\s+what)\b(?![^?!\n]*\b(?:how\s+(?:to|do|can|could|would|should)|ways?\s+"
    r"(?:to|of)|steps|easiest|best|instructions|recipe)\b)",
    re.IGNORECASE,
)
#: someone asks: an imperative, or a person in the sentence (not "a virus evading detection")
_REQUEST = re.compile(
    r"^\W*(?:please\s+)?(?:give|write|describe|explain|tell|list|provide|suggest|create|"
    r"help|show|teach|generate|compose|draft|come up|outline|detail|offer|share|make|"
    r"devise|plan)\b|\b(?:i|me|my|we|us|our|you|someone|somebody|how to|ways? to)\b",
    re.IGNORECASE,
)


def _harm_match(category: str, text: str) -> re.Match[str] | None:
    if _PAST.search(text) or _DEFINITION.search(text):
        return None
    for m in _HARM[category].finditer(text):
        if _FICTION_AFTER.match(text, m.end()):
            continue
        if category == "crime" and not _REQUEST.search(text):
            continue
        return m
    return None


def unsafe_scan(
    text: str, categories: Collection[str] = UNSAFE_CATEGORIES
) -> tuple[tuple[str, ...], tuple[Finding, ...]]:
    """The categories ``text`` falls in (reason codes ``unsafe.<category>``) and where.

    Findings are offsets in ``text`` when normalising kept its length (else none)."""
    if not text or not text.strip():
        return (), ()
    norm = _normal(text[:20_000])  # a question is short: a huge text is scanned in part
    same = norm == text[: len(norm)]
    reasons: list[str] = []
    findings: list[Finding] = []
    for category in UNSAFE_CATEGORIES:
        if category not in categories:
            continue
        m = _privacy_match(norm) if category == "privacy" else _harm_match(category, norm)
        if m is None:
            continue
        reasons.append(f"unsafe.{category}")
        if same and m.end() > m.start():
            findings.append(Finding(m.start(), m.end(), category))
    return tuple(reasons), tuple(findings)


class UnsafeRequestGuard:
    """Refuses (``action``) questions asking for a private person's data or clear harm.

    ``categories`` narrows what it looks for (default: all of
    :data:`UNSAFE_CATEGORIES`). It checks the question only: these are shapes of
    requests, and an answer or a document that *mentions* a bomb is no request. With
    the conversation's earlier user turns (``context.history``) it also reads the
    conversation (:mod:`ragline.guards._unsafe_turns`): a request split over turns or a
    slow escalation is refused with ``unsafe.multi_turn`` and its category.
    """

    name = "unsafe"

    def __init__(
        self, *, action: Action = "block", categories: Collection[str] | None = None
    ) -> None:
        chosen = tuple(UNSAFE_CATEGORIES if categories is None else categories)
        unknown = sorted(set(chosen) - set(UNSAFE_CATEGORIES))
        if unknown:
            raise ValueError(
                f"unknown unsafe-request categories {unknown}: one of {list(UNSAFE_CATEGORIES)}"
            )
        if action not in ("flag", "block"):
            raise ValueError(f"the unsafe-request guard flags or blocks, not {action!r}")
        self.action: Action = action
        self.categories = frozenset(chosen)
        self.stages: frozenset[GuardStage] = frozenset({"input"})

    def check(self, text: str, context: GuardContext) -> Verdict:
        reasons, findings = unsafe_scan(text, self.categories)
        if not reasons and context.stage == "input" and context.history:
            from ragline.guards._unsafe_turns import conversation_scan

            reasons = conversation_scan(text, context.history, self.categories, alone=())
        if not reasons:
            return Verdict(guard=self.name)
        return Verdict(
            guard=self.name, action=self.action, score=1.0, reasons=reasons, findings=findings
        )


__all__ = ["UNSAFE_CATEGORIES", "UnsafeRequestGuard", "unsafe_scan"]
