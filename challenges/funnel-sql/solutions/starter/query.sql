-- Three named queries; each runs from its header to the next one, and may hold several
-- statements (its result is the last one's, e.g. CREATE TEMP VIEW ...; SELECT ...).
-- Nothing made in one query is seen by another.

-- name: funnel
-- TODO: steps 2-4 in order and within 7 days of the first view; conversions.
SELECT 1 AS step_number, 'view_product' AS step, count(DISTINCT user_id) AS users,
       1.0 AS conversion_from_previous, 1.0 AS conversion_from_start
FROM events
WHERE step = 'view_product';

-- name: funnel_by_channel
-- TODO: channel, step_number, users (every channel and step, zeros included)
SELECT NULL AS channel, NULL AS step_number, NULL AS users;

-- name: time_to_purchase
-- TODO: channel, purchasers, median_hours
SELECT NULL AS channel, NULL AS purchasers, NULL AS median_hours;
