-- name: revenue
SELECT customer, sum(amount) AS revenue
FROM orders
WHERE NOT refunded
GROUP BY customer
ORDER BY revenue DESC, customer;
