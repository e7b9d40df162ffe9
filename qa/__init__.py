"""qa: answers questions about a folder of news articles, citing the exact source sentences.

The data flows one way: articles -> sentences -> index -> retrieve -> answer; cli and ui call it.
"""

__version__ = "0.1.0"
