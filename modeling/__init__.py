"""Models of behaviour: psychometric choice models (fit, compare, recover) and, in
``garden.modeling.networks``, neural networks. Imports nothing heavy at package import time."""
