// Graph benchmark (issue 5): arrives with the graph module.
print("graph-bench: not written yet")
