-- name: cohort_sizes
select cast(date_trunc('week', u.signup_at) as date) as cohort_week, count(u.user_id) as users
from users as u
group by 1
order by 1;

-- name: weekly_retention
with signup as (
  select user_id, cast(date_trunc('week', signup_at) as date) as cohort_week from users
), sizes as (
  select cohort_week, count(*) as n_users from signup group by cohort_week
), offsets as (
  select generate_series as week_number from generate_series(0, 7)
), seen as (
  select distinct s.user_id, s.cohort_week,
         cast((cast(date_trunc('week', ev.event_at) as date) - s.cohort_week) / 7 as integer) as week_number
  from signup s inner join events ev on ev.user_id = s.user_id
)
select z.cohort_week, o.week_number,
       count(seen.user_id) as active_users,
       count(seen.user_id) * 1.0 / z.n_users as retention
from sizes z cross join offsets o
left join seen on seen.cohort_week = z.cohort_week and seen.week_number = o.week_number
group by z.cohort_week, o.week_number, z.n_users
order by z.cohort_week, o.week_number;

-- name: best_week_one
with signup as (
  select user_id, cast(date_trunc('week', signup_at) as date) as cohort_week from users
), back_in_week_one as (
  select distinct s.user_id, s.cohort_week
  from signup s join events ev on ev.user_id = s.user_id
  where cast(date_trunc('week', ev.event_at) as date) = s.cohort_week + 7
), rates as (
  select s.cohort_week, count(b.user_id) * 1.0 / count(s.user_id) as retention
  from signup s left join back_in_week_one b using (user_id, cohort_week)
  group by s.cohort_week
), ranked as (
  select dense_rank() over (order by retention desc) as rank, cohort_week, retention from rates
)
select rank, cohort_week, retention from ranked where rank <= 3 order by rank, cohort_week;
