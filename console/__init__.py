"""The web console under ``/console/``: calls, each call's timeline drawn, hangup causes
and KPIs as charts, and the service's health, for people rather than programs.

Server-rendered pages (Jinja2 through Litestar's template support) over the read
contract (``projections.records``, ``projections.queries``, ``projections.metric_queries``),
with htmx and Chart.js served from the package (``console/static``). See docs/console.md.
"""
