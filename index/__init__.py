"""The bottom layer: the KB's articles, the encoders, and the FAISS index built from them and searched.

`kb` loads and validates articles, `passages` splits them into the parts that are embedded,
`encoders` wraps USE, e5 and sentence-transformers models, `build` writes a snapshot (with
`embedding_cache`, `incremental` and `classifier`), `search` loads one and scores articles for a
question (`scoring`, `spelling`). It imports nothing of `bot/` or `channels/`.
"""
