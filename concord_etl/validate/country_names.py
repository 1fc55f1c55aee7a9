"""Country names as people type them: accents, '&', a trailing '(...)', and the well-known
other names of the same country.

Concord matches ``country_id`` by its own country name or ISO code, case-sensitively. Sheets
say "Cote d'Ivoire", "Czech Republic", "Turkey", "Falkland Islands (Malvinas)" or "UK". Whatever
names the CRM's table uses, ``country_keys`` gives each country every key it can be looked up
by, and ``key_forms`` the forms of a typed name to try, most exact first. A name that belongs
to two countries ("Korea", "Congo" alone, "Virgin Islands") is in no alias group, so it stays
unmatched rather than guessed.
"""

from __future__ import annotations

import re
import unicodedata

# Each group: names of one country (already folded: lower case, no accents, '&' -> 'and').
ALIAS_GROUPS: tuple[frozenset[str], ...] = tuple(frozenset(g) for g in (
    {"czechia", "czech republic"},
    {"turkiye", "turkey", "republic of turkiye"},
    {"cabo verde", "cape verde"},
    {"kyrgyzstan", "kyrgyz republic"},
    {"eswatini", "swaziland", "kingdom of eswatini"},
    {"north macedonia", "macedonia", "republic of north macedonia", "the former yugoslav republic "
     "of macedonia", "macedonia, the former yugoslav republic of"},
    {"myanmar", "burma"},
    {"cote d'ivoire", "ivory coast"},
    {"timor-leste", "east timor", "timor leste"},
    {"united states", "united states of america", "u.s.a.", "u.s."},
    {"united kingdom", "uk", "u.k.", "great britain", "britain",
     "united kingdom of great britain and northern ireland"},
    {"russia", "russian federation"},
    {"south korea", "republic of korea", "korea, republic of", "korea (south)"},
    {"north korea", "democratic people's republic of korea", "korea, democratic people's republic of",
     "korea (north)", "dprk"},
    {"iran", "iran, islamic republic of", "islamic republic of iran"},
    {"syria", "syrian arab republic"},
    {"laos", "lao people's democratic republic", "lao pdr"},
    {"vietnam", "viet nam"},
    {"moldova", "republic of moldova", "moldova, republic of"},
    {"tanzania", "united republic of tanzania", "tanzania, united republic of"},
    {"bolivia", "bolivia, plurinational state of", "plurinational state of bolivia"},
    {"venezuela", "venezuela, bolivarian republic of", "bolivarian republic of venezuela"},
    {"vatican city", "holy see", "holy see (vatican city state)", "vatican city state", "vatican"},
    {"brunei", "brunei darussalam"},
    {"palestine", "state of palestine", "palestinian territory", "palestinian territories",
     "palestine, state of"},
    {"libya", "libyan arab jamahiriya"},
    {"democratic republic of the congo", "congo, the democratic republic of the",
     "congo, democratic republic of the", "dr congo", "drc", "congo (kinshasa)", "congo-kinshasa"},
    {"republic of the congo", "congo (brazzaville)", "congo-brazzaville"},
    {"micronesia", "federated states of micronesia", "micronesia, federated states of"},
    {"u.s. virgin islands", "united states virgin islands", "virgin islands, u.s.",
     "us virgin islands", "virgin islands (u.s.)"},
    {"british virgin islands", "virgin islands, british", "virgin islands (british)"},
    {"svalbard and jan mayen", "svalbard and jan mayen islands"},
    {"falkland islands", "falkland islands (malvinas)"},
    {"bahamas", "the bahamas"},
    {"gambia", "the gambia"},
    {"netherlands", "the netherlands"},
    {"hong kong", "hong kong sar", "hong kong, china"},
    {"macao", "macau", "macao sar"},
    {"taiwan", "taiwan, province of china"},
    {"saint martin", "saint martin (french part)"},
    {"sint maarten", "sint maarten (dutch part)"},
    {"caribbean netherlands", "bonaire, sint eustatius and saba"},
    {"united states minor outlying islands", "u.s. minor outlying islands"},
    {"heard island and mcdonald islands", "heard and mcdonald islands"},
))
_GROUP_OF: dict[str, frozenset[str]] = {name: group for group in ALIAS_GROUPS for name in group}
_SPACES = re.compile(r"\s+")
_TRAILING_NOTE = re.compile(r"\s*\([^()]*\)$")


def fold(name: object) -> str:
    """Lower case, accents dropped, '&' read as 'and', spaces single (``Côte`` -> ``cote``)."""
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("\u2019", "'").replace("&", " and ")
    return _SPACES.sub(" ", text).strip().casefold()


def country_keys(name: object) -> set[str]:
    """Every folded key a country called ``name`` in the CRM can be found by."""
    folded = fold(name)
    return {folded, *_GROUP_OF.get(folded, ())}


def key_forms(typed: object) -> list[str]:
    """The forms of a typed country name to look for, most exact first; a trailing note in
    brackets is dropped only here, on the file's side ("Falkland Islands (Malvinas)")."""
    folded = fold(typed)
    forms = [folded]
    bare = _TRAILING_NOTE.sub("", folded)
    if bare and bare != folded:
        forms.append(bare)
    return forms
