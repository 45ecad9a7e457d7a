"""Writers: the report's sections -> report.md (figures linked) and report.html (one self-contained page).

The HTML page embeds every figure as a base64 PNG and its style inline: no external reference of any kind,
so it opens offline and can be mailed as one file. Both pages escape every string they show (runs' errors and
configs come from the store, which anyone with write access to it can edit), so raw HTML is shown, not run.
"""
import base64
import html
import re
from dataclasses import dataclass, field

from rnnbench.report.figures import Figure
from rnnbench.report.tables import Table, to_html, to_markdown


@dataclass
class Section:
    title: str
    intro: str                                  # one paragraph: what the section measures
    items: list = field(default_factory=list)   # Figure | Table | str (a note)


CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2em; border-bottom: 1px solid #bbb; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #444; } figcaption b { color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eee; } .note { background: #fff6d5; padding: 0.5em 1em; border-left: 4px solid #e0b000; }
.meta td:first-child { font-weight: bold; }
"""


_TAG = re.compile(r"<(?=[A-Za-z/!?])")      # what starts raw HTML (a tag, comment, ...) in Markdown


def _md(text):
    """Text for report.md with every '<' that could open raw HTML written as &lt;: store strings (errors,
    commands) are shown, never run, and 'a < b' stays readable."""
    return _TAG.sub("&lt;", str(text))


def write_markdown(path, title, meta, sections, figure_paths):
    lines = [f"# {_md(title)}", "", *(f"- **{_md(k)}:** {_md(v)}" for k, v in meta.items()), ""]
    for s in sections:
        lines += [f"## {_md(s.title)}", "", _md(s.intro), ""]
        for item in s.items:
            if isinstance(item, Figure):
                lines += [f"![{_md(item.title)}]({figure_paths[item.name]})", "",
                          f"*Figure: {_md(item.title)}.* {_md(item.caption)}", ""]
            elif isinstance(item, Table):
                lines += [f"**{_md(item.title)}.** {_md(item.caption)}", "", _md(to_markdown(item)), ""]
            else:
                lines += [f"> {_md(item)}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_html(path, title, meta, sections, out_dir, figure_paths):
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{e(title)}</h1><table class='meta'>"]
    parts += [f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>" for k, v in meta.items()]
    parts.append("</table><nav><ol>")
    parts += [f"<li><a href='#s{i}'>{e(s.title)}</a></li>" for i, s in enumerate(sections)]
    parts.append("</ol></nav>")
    for i, s in enumerate(sections):
        parts.append(f"<section id='s{i}'><h2>{e(s.title)}</h2><p>{e(s.intro)}</p>")
        for item in s.items:
            if isinstance(item, Figure):
                data = base64.b64encode((out_dir / figure_paths[item.name]).read_bytes()).decode("ascii")
                parts.append(f"<figure><img src='data:image/png;base64,{data}' alt='{e(item.title)}'>"
                             f"<figcaption><b>{e(item.title)}.</b> {e(item.caption)}</figcaption></figure>")
            elif isinstance(item, Table):
                parts.append(f"<p><b>{e(item.title)}.</b> {e(item.caption)}</p>{to_html(item)}")
            else:
                parts.append(f"<p class='note'>{e(item)}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    path.write_text("".join(parts), encoding="utf-8")
