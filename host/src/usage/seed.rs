//! The usage store as the source of the client keys' day and month quotas after a
//! restart ([`crate::governance::QuotaSeed`]).
//!
//! The counters count what the key's limits admitted: a request refused by the key
//! itself (over a limit, a model it may not use) or one that never reached the limits
//! (a body that did not decode: no model was read) is not counted, so it is not
//! counted here either. Tokens are input plus output, as the counters add them.

use anyhow::Context;
use time::OffsetDateTime;

use super::UsageReader;
use crate::governance::{QuotaSeed, REFUSED_BY_THE_KEY, Totals as QuotaTotals};

impl QuotaSeed for UsageReader {
    fn totals_since(&self, since: OffsetDateTime) -> anyhow::Result<Vec<(String, QuotaTotals)>> {
        let since_ms = (since.unix_timestamp_nanos() / 1_000_000) as i64;
        let conn = self.open()?;
        let sql = format!(
            "SELECT client_key, COUNT(*), \
                    SUM(COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0)) \
             FROM requests \
             WHERE time_ms >= ?1 AND client_key != '' AND model != '' \
               AND error NOT IN ({}) \
             GROUP BY client_key",
            REFUSED_BY_THE_KEY
                .iter()
                .map(|code| format!("'{code}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut statement = conn.prepare(&sql)?;
        let rows = statement.query_map([since_ms], |row| {
            Ok((
                row.get::<_, String>(0)?,
                QuotaTotals {
                    requests: row.get::<_, i64>(1)?.max(0) as u64,
                    tokens: row.get::<_, i64>(2)?.max(0) as u64,
                },
            ))
        })?;
        rows.collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("cannot read the usage store {}", self.path.display()))
    }
}
