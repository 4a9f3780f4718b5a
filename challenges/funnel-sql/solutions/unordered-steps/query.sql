-- Flawed on purpose: a user "reached" a step if they ever did it, in any order and at any
-- time. Carts filled before the first view, purchases without a checkout and steps weeks
-- later all count, so later steps are inflated.

-- name: funnel
CREATE TEMP VIEW reached AS
SELECT DISTINCT CASE step WHEN 'view_product' THEN 1 WHEN 'add_to_cart' THEN 2
                          WHEN 'begin_checkout' THEN 3 ELSE 4 END AS step_number,
       step, user_id
FROM events;

SELECT step_number, step, count(*) AS users,
       coalesce(count(*) / lag(count(*)) OVER (ORDER BY step_number), 1.0)
           AS conversion_from_previous,
       count(*) / first_value(count(*)) OVER (ORDER BY step_number) AS conversion_from_start
FROM reached
GROUP BY step_number, step
ORDER BY step_number;

-- name: funnel_by_channel
CREATE TEMP VIEW reached AS
SELECT DISTINCT CASE step WHEN 'view_product' THEN 1 WHEN 'add_to_cart' THEN 2
                          WHEN 'begin_checkout' THEN 3 ELSE 4 END AS step_number,
       user_id
FROM events;

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
    SELECT user_id, min(event_at) AS t1 FROM events WHERE step = 'view_product' GROUP BY user_id
), first_purchase AS (
    SELECT user_id, min(event_at) AS t4 FROM events WHERE step = 'purchase' GROUP BY user_id
)
SELECT p.channel, count(*) AS purchasers,
       median(date_diff('second', v.t1, b.t4) / 3600.0) AS median_hours
FROM first_purchase b JOIN first_view v USING (user_id)
JOIN (SELECT DISTINCT user_id, channel FROM users) p USING (user_id)
GROUP BY p.channel
ORDER BY p.channel;
