"""Which language a customer writes in, decided for chat-length text.

`detect` makes the decision (script, a chat-word lexicon, then statistical detectors in
`backends`), open-set: it names the language the customer wrote even when the KB has no
version in it. `codes` normalises the codes channels and settings give, `script` reads the
writing system, `words` folds and splits the words of a message.
"""
