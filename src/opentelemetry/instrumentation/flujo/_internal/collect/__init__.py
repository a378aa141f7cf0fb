"""Collection: registry -> fetch -> normalise -> snapshot."""
