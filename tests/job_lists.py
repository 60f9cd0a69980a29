"""Checks the API's two job lists share (GET …/import and GET …/export/jobs): the same
`limit`/`offset` paging and NocoDB pageInfo, asked of each by its own tests."""

from __future__ import annotations

from collections.abc import Callable


def ids(body) -> list[str]:
    return [j["id"] for j in body["list"]]


def check_paging(page: Callable[[str], dict], want: list[str]) -> None:
    """`page(query string)` answers the list's JSON; `want` are the ids of its five jobs,
    newest first."""
    assert len(want) == 5
    first = page("limit=2")
    assert ids(first) == want[:2]
    assert first["pageInfo"] == {
        "totalRows": 5,
        "page": 1,
        "pageSize": 2,
        "isFirstPage": True,
        "isLastPage": False,
    }
    second = page("limit=2&offset=2")
    assert ids(second) == want[2:4]
    assert second["pageInfo"]["page"] == 2
    assert not second["pageInfo"]["isFirstPage"]
    assert not second["pageInfo"]["isLastPage"]
    last = page("offset=4&limit=2")
    assert ids(last) == want[4:]
    assert last["pageInfo"]["page"] == 3 and last["pageInfo"]["isLastPage"]
    # An offset between pages: the rows after it, the page it falls in.
    odd = page("limit=2&offset=3")
    assert ids(odd) == want[3:5]
    assert odd["pageInfo"]["page"] == 2 and odd["pageInfo"]["isLastPage"]
    assert not odd["pageInfo"]["isFirstPage"]
    past = page("offset=10")
    assert past["list"] == [] and past["pageInfo"]["totalRows"] == 5
    assert past["pageInfo"]["isLastPage"]
    assert ids(page("limit=100")) == want


def check_whole_page(api, url: str, body: dict, total: int) -> None:
    """A list that fits one default page: each job exactly as its own GET (`url`/id) shows
    it, and the pageInfo of a single page of `total` jobs."""
    for listed in body["list"]:
        assert listed == api.get(f"{url}/{listed['id']}").json()
    assert body["pageInfo"] == {
        "totalRows": total,
        "page": 1,
        "pageSize": 25,
        "isFirstPage": True,
        "isLastPage": True,
    }
