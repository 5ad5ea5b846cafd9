"""Training procedures: the shared loop bookkeeping (loop), mer's training and cross-validation (train), the
study's recipe (study), the leakage ladder (ladder) and the scores (evaluate). Importing the package imports none
of them."""
