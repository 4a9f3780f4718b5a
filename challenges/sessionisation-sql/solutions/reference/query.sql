-- Reference: a new session where the gap to the user's previous event (in time, then id
-- order) is over 30 minutes; a running sum of those starts numbers the sessions.

-- name: sessions
WITH flagged AS (
    SELECT *,
           CASE WHEN lag(event_at) OVER w IS NULL
                  OR event_at - lag(event_at) OVER w > INTERVAL 30 MINUTE
                THEN 1 ELSE 0 END AS starts_session
    FROM events
    WINDOW w AS (PARTITION BY user_id ORDER BY event_at, event_id)
), numbered AS (
    SELECT *,
           sum(starts_session) OVER (PARTITION BY user_id ORDER BY event_at, event_id
                                     ROWS UNBOUNDED PRECEDING) AS session_number
    FROM flagged
)
SELECT user_id,
       session_number,
       min(event_at) AS started_at,
       max(event_at) AS ended_at,
       count(*) AS events,
       date_diff('second', min(event_at), max(event_at)) AS duration_seconds
FROM numbered
GROUP BY user_id, session_number
ORDER BY user_id, session_number;

-- name: daily_sessions
WITH flagged AS (
    SELECT *,
           CASE WHEN lag(event_at) OVER w IS NULL
                  OR event_at - lag(event_at) OVER w > INTERVAL 30 MINUTE
                THEN 1 ELSE 0 END AS starts_session
    FROM events
    WINDOW w AS (PARTITION BY user_id ORDER BY event_at, event_id)
), numbered AS (
    SELECT *,
           sum(starts_session) OVER (PARTITION BY user_id ORDER BY event_at, event_id
                                     ROWS UNBOUNDED PRECEDING) AS session_number
    FROM flagged
), per_session AS (
    SELECT user_id, session_number, min(event_at) AS started_at, count(*) AS events
    FROM numbered
    GROUP BY user_id, session_number
)
SELECT started_at::DATE AS day,
       count(*) AS sessions,
       count(DISTINCT user_id) AS users,
       avg(events) AS avg_events
FROM per_session
GROUP BY day
ORDER BY day;

-- name: landing_pages
WITH flagged AS (
    SELECT *,
           CASE WHEN lag(event_at) OVER w IS NULL
                  OR event_at - lag(event_at) OVER w > INTERVAL 30 MINUTE
                THEN 1 ELSE 0 END AS starts_session
    FROM events
    WINDOW w AS (PARTITION BY user_id ORDER BY event_at, event_id)
), numbered AS (
    SELECT *,
           sum(starts_session) OVER (PARTITION BY user_id ORDER BY event_at, event_id
                                     ROWS UNBOUNDED PRECEDING) AS session_number
    FROM flagged
), per_session AS (
    SELECT user_id, session_number,
           arg_min(page, (event_at, event_id)) AS landing_page,
           count(*) AS events
    FROM numbered
    GROUP BY user_id, session_number
)
SELECT landing_page,
       count(*) AS sessions,
       avg(CASE WHEN events = 1 THEN 1.0 ELSE 0.0 END) AS bounce_rate
FROM per_session
GROUP BY landing_page
ORDER BY sessions DESC, landing_page;
