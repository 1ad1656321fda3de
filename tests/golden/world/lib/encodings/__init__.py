# encodings
