"""Corpora: Emotify's layout, votes and download (emotify), a corpus's segment features (dataset), the bundled
compact features, folds, balancing, statistics, the Analyze page's examples and the synthetic demo corpus.
Importing the package imports none of them."""
