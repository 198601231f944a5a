"""The YAML reader of articles' front matter."""

from __future__ import annotations

import re

import yaml

# libyaml's loader parses front matter about ten times faster; same safe subset of YAML.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL = "tag:yaml.org,2002:bool"


class Loader(_FAST_LOADER):  # type: ignore[misc, valid-type]
    """YAML 1.2's booleans: only true and false. YAML 1.1's yes/no/on/off made an article with
    `id: yes`, `lang: no` (Norwegian) or a question "No" read as True or False."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
        for first, resolvers in _FAST_LOADER.yaml_implicit_resolvers.items()
    }


Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
