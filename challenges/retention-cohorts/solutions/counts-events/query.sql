-- name: cohort_sizes
SELECT date_trunc('week', signup_at)::DATE AS cohort_week,
       count(*) AS users
FROM users
GROUP BY cohort_week;

-- name: weekly_retention
WITH cohorts AS (
    SELECT user_id,
           date_trunc('week', signup_at)::DATE AS cohort_week,
           count(*) OVER (PARTITION BY date_trunc('week', signup_at)) AS cohort_size
    FROM users
),
activity AS (
    SELECT c.cohort_week, c.user_id,
           date_diff('day', c.cohort_week, date_trunc('week', e.event_at)::DATE) // 7
               AS week_number
    FROM events e
    JOIN cohorts c USING (user_id)
),
grid AS (
    SELECT DISTINCT cohort_week, cohort_size, week_number
    FROM cohorts, range(0, 8) AS w(week_number)
)
SELECT g.cohort_week,
       g.week_number,
       count(a.user_id) AS active_users,
       count(a.user_id) / any_value(g.cohort_size) AS retention
FROM grid g
LEFT JOIN activity a USING (cohort_week, week_number)
GROUP BY g.cohort_week, g.week_number
ORDER BY g.cohort_week, g.week_number;

-- name: best_week_one
WITH cohorts AS (
    SELECT user_id, date_trunc('week', signup_at)::DATE AS cohort_week
    FROM users
),
week_one AS (
    SELECT c.cohort_week,
           count(e.user_id) / any_value(s.users) AS retention
    FROM cohorts c
    JOIN (SELECT cohort_week, count(*) AS users FROM cohorts GROUP BY cohort_week) s
        USING (cohort_week)
    LEFT JOIN events e
        ON e.user_id = c.user_id
       AND date_trunc('week', e.event_at)::DATE = c.cohort_week + INTERVAL 7 DAY
    GROUP BY c.cohort_week
)
SELECT rank() OVER (ORDER BY retention DESC) AS rank, cohort_week, retention
FROM week_one
QUALIFY rank <= 3
ORDER BY rank, cohort_week;
