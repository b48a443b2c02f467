import os
import sys

# The package itself (harmony_swift) is imported from where `pip install ./Samples/python` put it, never from
# this source tree (which has no native library); the test helpers and the examples are imported from here.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "examples"))
sys.path.insert(0, HERE)
