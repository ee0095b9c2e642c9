"""pc_node: the inference node on the home PC. Standalone: imports nothing from webapp.

Only pc_node.protocol is shared with the web app (webapp/inference speaks the same messages).
"""
