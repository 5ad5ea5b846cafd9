"""Inputs from audio: decoding and resampling (decode), the 20 segments, FFT and log-mel features, the pretrained
MusiCNN (musicnn, bandconv) and its per-segment embeddings. Importing the package imports none of them."""
