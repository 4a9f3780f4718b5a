-- Reference: each step is the first event of that step at or after the previous step and
-- within 7 days (inclusive) of the user's first product view; users counted once.

-- name: funnel
CREATE TEMP VIEW reached AS
WITH first_view AS (
    SELECT user_id, min(event_at) AS t1
    FROM events WHERE step = 'view_product' GROUP BY user_id
), cart AS (
    SELECT f.user_id, f.t1, min(e.event_at) AS t2
    FROM first_view f JOIN events e
      ON e.user_id = f.user_id AND e.step = 'add_to_cart'
     AND e.event_at >= f.t1 AND e.event_at <= f.t1 + INTERVAL 7 DAY
    GROUP BY f.user_id, f.t1
), checkout AS (
    SELECT c.user_id, c.t1, min(e.event_at) AS t3
    FROM cart c JOIN events e
      ON e.user_id = c.user_id AND e.step = 'begin_checkout'
     AND e.event_at >= c.t2 AND e.event_at <= c.t1 + INTERVAL 7 DAY
    GROUP BY c.user_id, c.t1
), purchase AS (
    SELECT k.user_id, k.t1, min(e.event_at) AS t4
    FROM checkout k JOIN events e
      ON e.user_id = k.user_id AND e.step = 'purchase'
     AND e.event_at >= k.t3 AND e.event_at <= k.t1 + INTERVAL 7 DAY
    GROUP BY k.user_id, k.t1
)
SELECT 1 AS step_number, 'view_product' AS step, user_id FROM first_view
UNION ALL SELECT 2, 'add_to_cart', user_id FROM cart
UNION ALL SELECT 3, 'begin_checkout', user_id FROM checkout
UNION ALL SELECT 4, 'purchase', user_id FROM purchase;

SELECT step_number, step, count(*) AS users,
       coalesce(count(*) / lag(count(*)) OVER (ORDER BY step_number), 1.0)
           AS conversion_from_previous,
       count(*) / first_value(count(*)) OVER (ORDER BY step_number) AS conversion_from_start
FROM reached
GROUP BY step_number, step
ORDER BY step_number;

-- name: funnel_by_channel
CREATE TEMP VIEW reached AS
WITH first_view AS (
    SELECT user_id, min(event_at) AS t1
    FROM events WHERE step = 'view_product' GROUP BY user_id
), cart AS (
    SELECT f.user_id, f.t1, min(e.event_at) AS t2
    FROM first_view f JOIN events e
      ON e.user_id = f.user_id AND e.step = 'add_to_cart'
     AND e.event_at >= f.t1 AND e.event_at <= f.t1 + INTERVAL 7 DAY
    GROUP BY f.user_id, f.t1
), checkout AS (
    SELECT c.user_id, c.t1, min(e.event_at) AS t3
    FROM cart c JOIN events e
      ON e.user_id = c.user_id AND e.step = 'begin_checkout'
     AND e.event_at >= c.t2 AND e.event_at <= c.t1 + INTERVAL 7 DAY
    GROUP BY c.user_id, c.t1
), purchase AS (
    SELECT k.user_id, k.t1, min(e.event_at) AS t4
    FROM checkout k JOIN events e
      ON e.user_id = k.user_id AND e.step = 'purchase'
     AND e.event_at >= k.t3 AND e.event_at <= k.t1 + INTERVAL 7 DAY
    GROUP BY k.user_id, k.t1
)
SELECT 1 AS step_number, user_id FROM first_view
UNION ALL SELECT 2, user_id FROM cart
UNION ALL SELECT 3, user_id FROM checkout
UNION ALL SELECT 4, user_id FROM purchase;

WITH people AS (SELECT DISTINCT user_id, channel FROM users),
grid AS (
    SELECT channel, step_number
    FROM (SELECT DISTINCT channel FROM people)
    CROSS JOIN (VALUES (1), (2), (3), (4)) AS s(step_number)
),
counted AS (
    SELECT p.channel, r.step_number, count(*) AS users
    FROM reached r JOIN people p USING (user_id)
    GROUP BY p.channel, r.step_number
)
SELECT g.channel, g.step_number, coalesce(c.users, 0) AS users
FROM grid g LEFT JOIN counted c USING (channel, step_number)
ORDER BY g.channel, g.step_number;

-- name: time_to_purchase
WITH first_view AS (
    SELECT user_id, min(event_at) AS t1
    FROM events WHERE step = 'view_product' GROUP BY user_id
), cart AS (
    SELECT f.user_id, f.t1, min(e.event_at) AS t2
    FROM first_view f JOIN events e
      ON e.user_id = f.user_id AND e.step = 'add_to_cart'
     AND e.event_at >= f.t1 AND e.event_at <= f.t1 + INTERVAL 7 DAY
    GROUP BY f.user_id, f.t1
), checkout AS (
    SELECT c.user_id, c.t1, min(e.event_at) AS t3
    FROM cart c JOIN events e
      ON e.user_id = c.user_id AND e.step = 'begin_checkout'
     AND e.event_at >= c.t2 AND e.event_at <= c.t1 + INTERVAL 7 DAY
    GROUP BY c.user_id, c.t1
), purchase AS (
    SELECT k.user_id, k.t1, min(e.event_at) AS t4
    FROM checkout k JOIN events e
      ON e.user_id = k.user_id AND e.step = 'purchase'
     AND e.event_at >= k.t3 AND e.event_at <= k.t1 + INTERVAL 7 DAY
    GROUP BY k.user_id, k.t1
)
SELECT p.channel, count(*) AS purchasers,
       median(date_diff('second', b.t1, b.t4) / 3600.0) AS median_hours
FROM purchase b JOIN (SELECT DISTINCT user_id, channel FROM users) p USING (user_id)
GROUP BY p.channel
ORDER BY p.channel;
