"""Every key and mouse gesture of the tool, in one table shown by --help and by the window's Help menu."""

# (action id, key sequences (Qt syntax, first is the primary), what it does)
KEYS = [
    ("close_polygon", ["Return", "Enter"], "close the polygon being drawn (also: click its first point, or double-click)"),
    ("cancel_polygon", ["Esc"], "cancel the polygon being drawn"),
    ("remove_point", ["Backspace"], "remove the last point of the polygon being drawn"),
    ("delete", ["Del"], "delete the vertex under the cursor, else the polygon under it"),
    ("toggle_hole", ["H"], "turn the polygon under the cursor into a hole, or back"),
    ("subtract_mode", ["S"], "subtract mode: new polygons are holes (or hold Shift on the first click)"),
    ("undo", ["Ctrl+Z"], "undo (every edit, drawing points included)"),
    ("redo", ["Ctrl+Shift+Z", "Ctrl+Y"], "redo"),
    ("accept", ["Ctrl+S"], "save now: accepts assisted polygons, or marks a frame with no person as done"),
    ("assist", ["A"], "assist: replace this frame's polygons with the model's prediction"),
    ("next_frame", ["PgDown", "N"], "next frame"),
    ("previous_frame", ["PgUp", "P"], "previous frame"),
    ("fit", ["F"], "fit the frame to the window"),
    ("actual_size", ["1"], "zoom to 100 %"),
    ("zoom_in", ["+", "="], "zoom in"),
    ("zoom_out", ["-"], "zoom out"),
    ("overlay", ["O"], "show or hide the mask overlay"),
    ("opacity_up", ["]"], "more opaque overlay"),
    ("opacity_down", ["["], "more transparent overlay"),
    ("help", ["F1"], "this list"),
]

MOUSE = [
    ("left click", "add a point; start a polygon on empty space (Shift: a hole)"),
    ("left click on the first point", "close the polygon"),
    ("drag a vertex", "move it"),
    ("click on an edge", "insert a vertex there (and drag it)"),
    ("right click", "while drawing: remove the last point; on a vertex: delete it; inside a polygon: delete it"),
    ("wheel", "zoom around the cursor"),
    ("middle drag, or Space + left drag", "pan"),
]


def shortcuts_text() -> str:
    width = max(len(" / ".join(keys)) for _, keys, _ in KEYS)
    mouse_width = max(len(gesture) for gesture, _ in MOUSE)
    lines = ["keys:"]
    lines += [f"  {' / '.join(keys):<{width}}  {text}" for _, keys, text in KEYS]
    lines.append("mouse:")
    lines += [f"  {gesture:<{mouse_width}}  {text}" for gesture, text in MOUSE]
    return "\n".join(lines)
