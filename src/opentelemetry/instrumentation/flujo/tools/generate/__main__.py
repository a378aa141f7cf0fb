import sys
from pathlib import Path

from opentelemetry.instrumentation.flujo.tools.generate import write

root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
for relative in write(root):
    print("wrote", relative)
