"""A feed publisher for a news agency: RSS 2.0, Atom and JSON Feed from a store of text files."""
