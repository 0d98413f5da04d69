"""The whole schema: every table module imported once, so the metadata (migrations, checks) sees every table.

Table modules import ``posts.models`` for the declarative base and never each other back; import this module
where the complete metadata is needed.
"""

from __future__ import annotations

import posts.account_models
import posts.analytics_models
import posts.coordination
import posts.inbox_models
import posts.models
import posts.operators
import posts.queue
import posts.revisions
import posts.sendtome_models

metadata = posts.models.Base.metadata
TABLE_MODULES = (
    posts.models,
    posts.queue,
    posts.coordination,
    posts.account_models,
    posts.operators,
    posts.inbox_models,
    posts.revisions,
    posts.analytics_models,
    posts.sendtome_models,
)
