"""Tasks and lists: the rules of a task, lists (built-in and own), search."""
