"""The dashboard's pages: one definition for the navigation and for the links between pages.

A link names its page by object, not by file: `st.page_link("views/search.py")` resolves the
file on disk (`os.path.realpath`) on every call, and a page of search results draws twenty
links, which under 20 concurrent users was ~14 % of the one server process's CPU
(benchmarks/dashboard_load.py with py-spy).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import streamlit as st

VIEWS = Path(__file__).parent / "views"

Name = Literal[
    "search",
    "profile",
    "service_lane",
    "opportunities",
    "leads",
    "brand_ladder",
    "campaigns",
    "review",
    "health",
]

# section → page name → st.Page arguments. Pages live in `views/`, not `pages/`: Streamlit
# still treats a `pages/` folder beside the main script as a v1 multipage app until
# `st.navigation` has run once in the process, so the first visitor after a restart who opens
# a shared link (`/profile?customer_id=…`) would get the file-name sidebar.
_SECTIONS: dict[str, dict[Name, dict]] = {
    "Customers": {
        "search": {
            "title": "Find a customer",
            "icon": ":material/person_search:",
            "default": True,  # served at "/": the default page has no path of its own
        },
        "profile": {
            "title": "Customer profile",
            "icon": ":material/person:",
            "url_path": "profile",
        },
    },
    "Service": {
        "service_lane": {
            "title": "Service lane",
            "icon": ":material/car_repair:",
            "url_path": "service-lane",
        },
    },
    "Marketing": {
        "opportunities": {
            "title": "Opportunities",
            "icon": ":material/campaign:",
            "url_path": "opportunities",
        },
        "leads": {
            "title": "Leads",
            "icon": ":material/filter_alt:",
            "url_path": "leads",
        },
        "brand_ladder": {
            "title": "Brand ladder",
            "icon": ":material/stairs:",
            "url_path": "brand-ladder",
        },
        "campaigns": {
            "title": "Campaigns",
            "icon": ":material/experiment:",
            "url_path": "campaigns",
        },
    },
    "Operations": {
        "review": {
            "title": "Identity review",
            "icon": ":material/join_inner:",
            "url_path": "review",
        },
        "health": {
            "title": "Data health",
            "icon": ":material/monitor_heart:",
            "url_path": "health",
        },
    },
}


# A page made of panels is a package of its own, entered through its `page.py`.
_SCRIPTS: dict[Name, str] = {"profile": "profile/page.py"}


def script(name: Name) -> Path:
    """The file that draws page `name`: `views/<name>.py`, or the entry of its package."""
    return VIEWS / _SCRIPTS.get(name, f"{name}.py")


def _page(name: Name, arguments: dict) -> st.Page:
    return st.Page(script(name), **arguments)


def navigation() -> dict[str, list[st.Page]]:
    """Fresh pages for `st.navigation`, on every run: Streamlit marks the page it returns as
    callable once, so these objects must not be shared between sessions."""
    return {
        section: [_page(name, arguments) for name, arguments in pages.items()]
        for section, pages in _SECTIONS.items()
    }


@functools.cache
def link(name: Name) -> st.Page:
    """The page `name` as the target of `st.page_link`, built once per process (links only
    read its path, address, title and icon)."""
    arguments = next(pages[name] for pages in _SECTIONS.values() if name in pages)
    return _page(name, arguments)
