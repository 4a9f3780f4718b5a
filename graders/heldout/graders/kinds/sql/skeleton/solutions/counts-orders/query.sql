-- name: revenue
SELECT customer, count(*) AS revenue
FROM orders
WHERE NOT refunded
GROUP BY customer
ORDER BY revenue DESC, customer;
